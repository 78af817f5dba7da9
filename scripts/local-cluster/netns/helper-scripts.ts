/**
 * The two small programs a netns cluster runs besides the node daemons,
 * as CommonJS source for `node -e` (no build step, nothing to find on disk):
 * argv[1..] are their arguments.
 */

/**
 * Responder, one per node namespace: `node -e RESPONDER <pnn> <port>`
 * answers every TCP connection with "node <pnn>\n" and closes, so the
 * client can tell which node holds a public address.
 */
export const RESPONDER_SCRIPT = `
const net = require('node:net');
const [pnn, port] = process.argv.slice(1);
net.createServer((s) => { s.on('error', () => {}); s.end('node ' + pnn + '\\n'); })
  .on('error', (e) => { console.error(e.message); process.exit(1); })
  .listen(Number(port), '0.0.0.0');
`;

/**
 * Client agent, in the client namespace: `node -e CLIENT_AGENT <socket>`
 * listens on a unix socket (reachable from any namespace) for JSON lines
 * {"ip","port","timeoutMs"} and answers each with {"answer"} (what the
 * server sent) or {"error"} (ECONNREFUSED, ETIMEDOUT, ...) after a TCP
 * connection made from inside the client namespace.
 */
export const CLIENT_AGENT_SCRIPT = `
const net = require('node:net');
const fs = require('node:fs');
const path = process.argv[1];
try { fs.unlinkSync(path); } catch {}
function probe(req, reply) {
  let data = '';
  let done = false;
  const s = net.connect({ host: req.ip, port: req.port });
  const finish = (r) => { if (done) return; done = true; clearTimeout(timer); s.destroy(); reply(r); };
  const timer = setTimeout(() => finish({ error: 'ETIMEDOUT' }), req.timeoutMs);
  s.setEncoding('utf8');
  s.on('data', (d) => { data += d; });
  s.on('end', () => finish({ answer: data }));
  s.on('error', (e) => finish({ error: e.code || e.message }));
}
net.createServer((c) => {
  let buf = '';
  c.setEncoding('utf8');
  c.on('error', () => {});
  c.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\\n'); i >= 0; i = buf.indexOf('\\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      let req;
      try { req = JSON.parse(line); } catch { c.write(JSON.stringify({ error: 'EBADREQUEST' }) + '\\n'); continue; }
      probe(req, (r) => c.write(JSON.stringify(r) + '\\n'));
    }
  });
}).on('error', (e) => { console.error(e.message); process.exit(1); }).listen(path);
`;
