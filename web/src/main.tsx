// The playground's entry: mounts the app. Served by `persona-steer serve` at `/` (docs/server.md).
import { render } from 'preact';
import { App } from './components/App';
import './styles.css';

render(<App />, document.getElementById('app')!);
