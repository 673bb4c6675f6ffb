import { call, native } from './native';

/** Backends and devices the addon was built with. */
export function systemInfo(): { llamaCpp: string; llamaSystemInfo: string; supportsGpuOffload: boolean; devices: { name: string; description: string }[] } {
  const n = call(() => native());
  const s = n.systemInfo();
  return { llamaCpp: n.llamaCppVersion, llamaSystemInfo: s.llamaSystemInfo, supportsGpuOffload: s.supportsGpuOffload, devices: s.devices };
}
