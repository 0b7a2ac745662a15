// An in-process test device: keeps applied objects in memory and can be told to fail.
import type { ApplyContext, DeviceObject, JsonObject, KindReconciler } from '../../src/index.js';

/** One effective change the device made. */
export interface DeviceChange {
  op: 'apply' | 'remove';
  kind: string;
  key: string;
  generation?: number;
  epoch: number;
}

export class MemoryDevice {
  readonly objects = new Map<string, { generation: number; resource: JsonObject }>();
  readonly changes: DeviceChange[] = [];
  /** Errors to throw on the next apply/remove of `kind/key` (consumed one per call). */
  readonly failures = new Map<string, Error[]>();
  /** Delay of every call, to make reconciles observable. */
  delayMs = 0;

  failNext(kind: string, key: string, ...errors: Error[]): void {
    this.failures.set(`${kind}/${key}`, errors);
  }

  private async step(id: string, context: ApplyContext): Promise<void> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const error = this.failures.get(id)?.shift();
    if (error) throw error;
    context.fence.check();
  }

  reconcilers(kinds: readonly string[]): Record<string, KindReconciler> {
    const out: Record<string, KindReconciler> = {};
    for (const kind of kinds) {
      out[kind] = {
        apply: async (object: DeviceObject, context) => {
          const id = `${kind}/${object.key}`;
          await this.step(id, context);
          const current = this.objects.get(id);
          if (current?.generation !== object.generation) {
            this.objects.set(id, { generation: object.generation, resource: object.resource });
            this.changes.push({
              op: 'apply',
              kind,
              key: object.key,
              generation: object.generation,
              epoch: context.fence.epoch,
            });
          }
          return {
            components: [{ name: 'dataplane', state: 'SUCCESS' }],
            device: kind === 'NullVolume' ? { uuid: `uuid-${object.key}` } : undefined,
          };
        },
        remove: async (object, context) => {
          const id = `${kind}/${object.key}`;
          await this.step(id, context);
          if (this.objects.delete(id))
            this.changes.push({ op: 'remove', kind, key: object.key, epoch: context.fence.epoch });
        },
        listKeys: async () =>
          [...this.objects.keys()]
            .filter((k) => k.startsWith(`${kind}/`))
            .map((k) => k.slice(kind.length + 1)),
      };
    }
    return out;
  }
}
