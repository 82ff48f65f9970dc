/** Asks for a password on the terminal without echoing it (interactive runs only). */
import fs from 'node:fs';
import type tty from 'node:tty';

/** A person can answer: stdin is a terminal. */
export function isInteractiveTerminal(): boolean {
  return Boolean(process.stdin.isTTY);
}

export function promptPassword(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return Promise.resolve('');
  // The question goes to the terminal itself, so it is seen even when stderr is redirected.
  let out: NodeJS.WritableStream = process.stderr;
  try {
    // node:tty is loaded here, when a person is asked: a run that asks nobody does not pay for it.
    const { WriteStream }: typeof tty = require('node:tty');
    out = new WriteStream(fs.openSync('/dev/tty', 'w'));
  } catch {
    /* keep stderr */
  }
  out.write(question);
  return new Promise((resolve) => {
    let answer = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.resume();
    const finish = (value: string) => {
      input.setRawMode(wasRaw);
      input.pause();
      input.off('data', onData);
      out.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish(answer);
        if (ch === '\u0003') {
          // Ctrl-C in raw mode arrives as a character: turn it back into SIGINT.
          finish('');
          process.kill(process.pid, 'SIGINT');
          return;
        }
        if (ch === '\u0004') return finish(answer);
        if (ch === '\u007f' || ch === '\b') answer = answer.slice(0, -1);
        else answer += ch;
      }
    };
    input.on('data', onData);
  });
}
