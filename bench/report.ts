/** The figures of one scenario, as `--json` writes them (BRIEF §7); extra fields explain how they were taken. */
export interface ScenarioResult {
  name: string;
  meshgate?: {
    wall_ms?: number;
    requests?: number;
    writes?: number;
    peak_rss_mb?: number;
    [detail: string]: unknown;
  };
  deck?: { wall_ms: number; requests: number; runs: number };
  ratio?: number;
  functions?: Record<
    string,
    { bundle_bytes: number; load_ms_over_node: number; sdk_load_ms_over_node: number; [detail: string]: number }
  >;
  runs?: number;
  /** The bars of BRIEF §8 this scenario checks, each with its verdict. */
  bars: { bar: string; measured: string; pass: boolean }[];
  notes?: string[];
}

export function printTable(results: readonly ScenarioResult[]): void {
  const rows = results.flatMap((result) =>
    result.bars.map((bar, index) => [
      index === 0 ? result.name : '',
      bar.bar,
      bar.measured,
      bar.pass ? 'ok' : 'MISSED',
    ]),
  );
  const header = ['scenario', 'bar (BRIEF §8)', 'measured', ''];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)));
  const line = (cells: readonly string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  console.log(line(header));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
  for (const result of results) {
    for (const note of result.notes ?? []) console.log(`note (${result.name}): ${note}`);
  }
}
