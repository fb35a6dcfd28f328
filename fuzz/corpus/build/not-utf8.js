console.log('ÿþ')
