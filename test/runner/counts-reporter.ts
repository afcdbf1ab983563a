/**
 * A node:test reporter that writes only the run's final counts, as one JSON line,
 * to its destination. test/runner/run.ts reads it to print the closing count line.
 */
interface SummaryEvent {
  type: string;
  data: { file?: string; counts?: Record<string, number> };
}

export default async function* countsReporter(source: AsyncIterable<SummaryEvent>): AsyncGenerator<string> {
  let last: Record<string, number> | undefined;
  for await (const event of source) {
    if (event.type === 'test:summary' && event.data.file === undefined && event.data.counts) last = event.data.counts;
  }
  if (last) yield `${JSON.stringify(last)}\n`;
}
