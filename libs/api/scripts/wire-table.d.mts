// Types for wire-table.mjs.
import type { WireTable } from '../tests/support/wire-view.js';

export const defaultTablePath: string;
export const defaultJsonPath: string;
export class WireTableSyntaxError extends Error {}
export function parseWireTable(markdown: string): WireTable;
export function formatWireTable(table: WireTable, path?: string): Promise<string>;
