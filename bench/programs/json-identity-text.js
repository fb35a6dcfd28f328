// Script mode with Kiln's whole-stream I/O: read stdin as text, parse,
// stringify, write.
Kiln.stdout.write(JSON.stringify(JSON.parse(Kiln.stdin.text())));
