console.log("never closed);
