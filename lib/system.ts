import { call, native } from './native';

/** One ggml backend registered in this process. */
export interface BackendInfo {
  /** ggml's registry name: 'CPU', 'CUDA', 'Metal', 'RPC', ... */
  name: string;
  /** The library it was loaded from (a dynamically loaded build); null when compiled into the addon. */
  library: string | null;
  /**
   * The CPU backend's variant in a dynamically loaded build: the instruction-set level ggml chose
   * for this CPU ('zen4', 'icelake', 'haswell', 'x64', ... from `libggml-cpu-<variant>`), or
   * 'portable' for the single CPU library of a default source build. Null for other backends and
   * for static builds.
   */
  variant: string | null;
  /** What the backend reports through `ggml_backend_get_features` (e.g. `{ AVX512: '1' }` for CPU). */
  features: Record<string, string>;
}

export interface SystemInfo {
  /** The pinned llama.cpp (vendor/llama.lock.json) the addon was built from. */
  llamaCpp: string;
  /** `llama_print_system_info()`. */
  llamaSystemInfo: string;
  supportsGpuOffload: boolean;
  devices: { name: string; description: string }[];
  /** True for a build whose ggml backends are libraries loaded at run time (GGML_BACKEND_DL). */
  dynamicBackends: boolean;
  /** The persona_steer .node file that was loaded. */
  addonPath: string;
  /** Where backend libraries were loaded from (the addon's folder, or PERSONA_STEER_BACKEND_DIR); null for static builds. */
  backendDir: string | null;
  /** The chosen CPU variant (shorthand for the CPU entry of `backends`), or null. */
  cpuVariant: string | null;
  backends: BackendInfo[];
}

/**
 * Backends and devices the addon was built with or loaded, and the CPU variant ggml chose
 * (`ggml_backend_load_best` scores every `libggml-cpu-*` library beside the addon against this CPU).
 */
export function systemInfo(): SystemInfo {
  const n = call(() => native());
  const s = n.systemInfo();
  const backends = s.backends ?? [];   // an addon built before dynamic backends reports none
  const cpu = backends.find((b) => b.name === 'CPU');
  return {
    llamaCpp: n.llamaCppVersion,
    llamaSystemInfo: s.llamaSystemInfo,
    supportsGpuOffload: s.supportsGpuOffload,
    devices: s.devices,
    dynamicBackends: s.dynamicBackends ?? false,
    addonPath: s.addonPath ?? '',
    backendDir: s.backendDir ?? null,
    cpuVariant: cpu?.variant ?? null,
    backends,
  };
}
