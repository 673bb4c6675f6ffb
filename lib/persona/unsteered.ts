// Persona helpers read the plain model: extraction, calibration, screening, a sweep's measurements
// and a condition's check run unsteered (the per-call API planned in issue 11: "every persona helper
// runs unsteered unless given options.steer"). Until that lands, a generate call's plan stays on the
// context and measuring calls use it, so the helpers clear it here; with per-call steering this
// becomes a no-op to remove.
import type { Context } from '../context';

export function clearSteering(context: Context): void {
  context.setSteering(null);
}
