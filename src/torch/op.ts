/**
 * Calling libtorch operators by schema name. Ids are resolved once, on first use.
 */
import { native, type NativeHandle, type NativeValue } from './native';

/** A libtorch operator, e.g. `op('aten::add', 'Tensor')`; resolved lazily. */
export class Op {
  private id = -1;
  constructor(readonly name: string, readonly overload = '') {}

  /** The dispatcher id (resolves on first call; throws if libtorch lacks the op). */
  get ref(): number {
    if (this.id < 0) this.id = native.findOp(this.name, this.overload);
    return this.id;
  }

  /** The operator's schema as libtorch prints it (for error messages and docs). */
  get schema(): string {
    return native.opSchema(this.ref);
  }
}

export function op(name: string, overload = ''): Op {
  return new Op(name, overload);
}

/** Calls op, expecting one tensor back. */
export function callH(o: Op, ...args: unknown[]): NativeHandle {
  return native.call(o.ref, ...args) as NativeHandle;
}

/** Calls op, expecting several values (a tuple or a tensor list) back. */
export function callMany(o: Op, ...args: unknown[]): NativeValue[] {
  return native.call(o.ref, ...args) as NativeValue[];
}

/** Calls an in-place op whose result is its first argument. */
export function callVoid(o: Op, ...args: unknown[]): void {
  native.callVoid(o.ref, ...args);
}

/** Calls op, expecting a plain value (number or boolean) back. */
export function callValue(o: Op, ...args: unknown[]): NativeValue {
  return native.call(o.ref, ...args);
}
