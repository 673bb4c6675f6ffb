// The shape of a subcommand: its name, help text and entry point.
export interface CommandContext {
  /** Aborted on SIGINT: long work stops with ERR_ABORTED. */
  signal: AbortSignal;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Resolves to the exit status. */
  run(argv: string[], ctx: CommandContext): Promise<number>;
}
