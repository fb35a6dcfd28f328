const t = `a ${ b ` c;
