// A tiny HTTP server with ferry's /health contract: the deployed commit
// (FERRY_SHA) as "version", so an old process cannot pass for a new one.
'use strict';
const http = require('node:http');

// greet is an optional dependency of this example: the end-to-end test
// adds it to package.json to prove a dependency change builds new
// node_modules.
let greet = () => 'hello';
try {
  greet = require('greet');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND') throw e;
}

function handler(req, res) {
  if (req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', version: process.env.FERRY_SHA || '' }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end(greet() + '\n');
}

module.exports = { handler };

if (require.main === module) {
  const port = Number(process.env.PORT || 8010);
  http.createServer(handler).listen(port, '127.0.0.1');
  // SIGTERM is how ferry stops the app: close and exit promptly.
  process.on('SIGTERM', () => process.exit(0));
}
