// The message box and its buttons. Enter sends, Shift+Enter starts a new line.
import { useState } from 'preact/hooks';

interface Props {
  busy: boolean;
  compare: boolean;
  onCompare: (on: boolean) => void;
  onSend: (text: string) => boolean;
  onStop: () => void;
  onReset: () => void;
}

export function Composer({ busy, compare, onCompare, onSend, onStop, onReset }: Props) {
  const [text, setText] = useState('');
  const send = () => {
    if (text.trim() === '' || busy) return;
    if (onSend(text.trim())) setText('');
  };
  return (
    <form class="composer" onSubmit={(e) => { e.preventDefault(); send(); }}>
      <label for="message">Message</label>
      <textarea
        id="message"
        rows={2}
        value={text}
        placeholder="Ask something (Enter sends, Shift+Enter for a new line)"
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      <div class="row">
        <button type="submit" disabled={busy || text.trim() === ''}>Send</button>
        <button type="button" onClick={onStop} disabled={!busy}>Stop</button>
        <button type="button" onClick={onReset}>Reset</button>
        <label class="toggle">
          <input type="checkbox" id="compare" checked={compare} onChange={(e) => onCompare((e.target as HTMLInputElement).checked)} />
          Compare unsteered and steered (same seed)
        </label>
      </div>
    </form>
  );
}
