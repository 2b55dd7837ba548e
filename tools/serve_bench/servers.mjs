// Starting and stopping the two servers the serve_bench scripts compare:
// `zerfoo serve` and llama-server, on 127.0.0.1, with the same threads,
// slots and total context.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

// startServer starts kind ('zerfoo' or 'llama') from bin on model and
// returns { p, url } once /health answers (within 2 minutes). o: port,
// threads, parallel, ctx (positions, all slots together) and extra (more
// arguments for that server).
export async function startServer(kind, bin, model, o) {
  const a = kind === 'zerfoo'
    ? ['serve', '--model', model, '--addr', `127.0.0.1:${o.port}`, '--parallel', o.parallel, '--ctx-size', o.ctx, '--threads', o.threads]
    : ['-m', model, '--host', '127.0.0.1', '--port', o.port, '-t', o.threads, '-tb', o.threads, '-np', o.parallel, '-c', o.ctx, '--no-webui'];
  const p = spawn(bin, [...a, ...(o.extra ?? [])].map(String), { stdio: 'ignore' });
  const url = `http://127.0.0.1:${o.port}`;
  for (let t = 0; t < 600; t++) {
    try { if ((await fetch(`${url}/health`)).ok) return { p, url }; } catch {}
    await sleep(200);
  }
  p.kill();
  throw new Error(`${kind} did not become healthy`);
}

// stopServer sends SIGTERM and waits for the process to exit.
export async function stopServer(s) {
  s.p.kill('SIGTERM');
  await new Promise((r) => (s.p.exitCode !== null ? r() : s.p.on('exit', r)));
}
