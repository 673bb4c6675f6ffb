// Progress bars for long work: on stderr, and only when stderr is a terminal, so that piped
// output and logs stay clean.
export interface Progress {
  update(label: string, done: number, total: number): void;
  end(): void;
}

const WIDTH = 24;

export function progressBar(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, end() {} };
  let shown = false;
  let last = 0;
  return {
    update(label, done, total) {
      const now = Date.now();
      // Redraw at most 20 times a second, but always show completion.
      if (done < total && now - last < 50) return;
      last = now;
      const f = total > 0 ? Math.min(1, done / total) : 0;
      const fill = Math.round(f * WIDTH);
      stream.write(`\r\x1b[2K${label} [${'#'.repeat(fill)}${'-'.repeat(WIDTH - fill)}] ${done}/${total}`);
      shown = true;
    },
    end() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
