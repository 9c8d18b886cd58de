/** Types of bench-tables.mjs, for the docs test. */
export declare const RESULTS_DIR: string
export declare const GUIDE: string
export declare function readResults(dir?: string): Promise<Map<string, unknown>>
export declare function renderSuite(result: unknown): string
export declare function updateRegions(markdown: string, results: ReadonlyMap<string, unknown>): string
