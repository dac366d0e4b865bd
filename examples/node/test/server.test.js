'use strict';
const { test } = require('node:test');
const assert = require('node:assert');
const http = require('node:http');
const { handler } = require('../server.js');

function get(server, path) {
  return new Promise((resolve, reject) => {
    const { port } = server.address();
    http.get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
}

test('health answers with the deployed commit', async () => {
  process.env.FERRY_SHA = 'abc123';
  const server = http.createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const r = await get(server, '/health');
    assert.strictEqual(r.status, 200);
    assert.deepStrictEqual(JSON.parse(r.body), { status: 'ok', version: 'abc123' });
    const home = await get(server, '/');
    assert.strictEqual(home.status, 200);
  } finally {
    server.close();
  }
});
