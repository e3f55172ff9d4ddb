/**
 * Releasing native tensors: dispose() without a call into C++, and the garbage-collection
 * safety net for tensors that escape every scope.
 *
 * Deferred release: dispose() appends the tensor's handle to a queue in memory shared with
 * the binding (native/src/binding.cpp, "deferred release"). The binding frees the queued
 * tensors at the start of its next call, before anything else, so no native call ever sees
 * a disposed tensor as live (using one still throws "tensor has been disposed") and its
 * memory is back before the next operator allocates. The queue is also drained when it is
 * full, at the end of every tidy scope, and in a microtask after the first release of a
 * task, so nothing stays queued across an idle event loop.
 *
 * Safety net: tensors that leave every scope are registered with a FinalizationRegistry,
 * but only the ones still alive at the end of the task (or after 1,024 escapes), so that a
 * tensor created and disposed right away, the common case, never pays for a registration.
 */
import { native, type NativeHandle } from './native';

// The queue's layout (binding.cpp's ReleaseQueue): int32 count, int32 capacity, then float64
// handles. Each Node environment (the main thread, each Worker) has its own queue, as it has
// its own tensor table; an addon built before the queue existed disposes each handle directly.
const queueBuffer = native.releaseQueue;
const queueHeader = queueBuffer ? new Int32Array(queueBuffer, 0, 2) : undefined;
const queueCapacity = queueHeader ? queueHeader[1] : 0;
const queueHandles = queueBuffer ? new Float64Array(queueBuffer, 8, queueCapacity) : undefined;

let tickScheduled = false;

/** Releases a native handle: queued, freed by the binding before its next call does anything. */
export function releaseHandle(h: NativeHandle): void {
  if (queueHandles === undefined) {
    native.dispose(h);
    return;
  }
  const n = queueHeader![0];
  queueHandles[n] = h as unknown as number;
  queueHeader![0] = n + 1;
  if (n + 1 === queueCapacity) native.flushReleases!();
  else if (!tickScheduled) scheduleTick();
}

/** Frees the queued tensors now. */
export function flushReleases(): void {
  if (queueHeader !== undefined && queueHeader[0] > 0) native.flushReleases!();
}

/** What the safety net needs of a tensor. */
interface Guarded {
  readonly isDisposed: boolean;
  readonly _h: NativeHandle;
}

/**
 * Frees the native tensor of a Tensor that the garbage collector reclaims without it having
 * been disposed. (A handle disposed meanwhile, or whose slot was reused, is ignored by
 * native.dispose: handles carry their slot's generation.)
 */
const finalizers = new FinalizationRegistry<NativeHandle>((h) => native.dispose(h));
const escapeBatch = 1024;
const escaped: (Guarded | undefined)[] = new Array(escapeBatch);
let escapedCount = 0;

/** Puts a tensor that escaped every scope under the safety net (at the end of the task). */
export function guardEscaped(t: Guarded): void {
  escaped[escapedCount++] = t;
  if (escapedCount === escapeBatch) registerEscaped();
  else if (!tickScheduled) scheduleTick();
}

function registerEscaped(): void {
  for (let i = 0; i < escapedCount; i++) {
    const t = escaped[i]!;
    if (!t.isDisposed) finalizers.register(t, t._h);
    escaped[i] = undefined;
  }
  escapedCount = 0;
}

function scheduleTick(): void {
  tickScheduled = true;
  queueMicrotask(endOfTask);
}

function endOfTask(): void {
  tickScheduled = false;
  registerEscaped();
  flushReleases();
}
