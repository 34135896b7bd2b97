package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Engine;
import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.Instance;
import io.github.kawamuray.wasmtime.Linker;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Module;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Val;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * wasi-common's own {@code fd_read} and {@code poll_oneoff}, for the calls krill's replacements
 * pass on. A WASI function finds guest memory through its caller's "memory" export, so it cannot be
 * called from Java directly: it is called through a tiny trampoline module that imports the guest's
 * memory, re-exports it, and forwards to the WASI import.
 */
final class WasiDelegates implements AutoCloseable {
  static final byte[] TRAMPOLINE =
      """
      (module
        (import "env" "memory" (memory 0))
        (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (export "memory" (memory 0))
        (func (export "fd_read") (param i32 i32 i32 i32) (result i32)
          local.get 0 local.get 1 local.get 2 local.get 3 call $fd_read)
        (func (export "poll_oneoff") (param i32 i32 i32 i32) (result i32)
          local.get 0 local.get 1 local.get 2 local.get 3 call $poll))
      """
          .getBytes(StandardCharsets.UTF_8);
  private static final String WASI = "wasi_snapshot_preview1";
  static final int ERRNO_NOSYS = 52;

  private volatile Func fdRead;
  private volatile Func pollOneoff;
  private Instance instance;
  private Func wasiFdRead;
  private Func wasiPoll;

  /**
   * The trampoline, compiled when the guest is prepared: a compile of the guest's engine goes
   * through the module cache's staging, which is gone once the guest is prepared.
   */
  static Module compileTrampoline(Engine engine) {
    return new Module(engine, TRAMPOLINE);
  }

  /**
   * Connects the delegates to the guest's memory through {@code trampoline} (which the guest owns);
   * before this, delegated calls get ENOSYS.
   */
  void connect(Module trampoline, Store<Void> store, Linker linker, Memory guestMemory) {
    wasiFdRead = linker.get(store, WASI, "fd_read").orElseThrow().func();
    wasiPoll = linker.get(store, WASI, "poll_oneoff").orElseThrow().func();
    instance =
        new Instance(
            store,
            trampoline,
            List.of(
                Extern.fromMemory(guestMemory),
                Extern.fromFunc(wasiFdRead),
                Extern.fromFunc(wasiPoll)));
    fdRead = instance.getFunc(store, "fd_read").orElseThrow();
    pollOneoff = instance.getFunc(store, "poll_oneoff").orElseThrow();
  }

  Val fdRead(Store<Void> store, Val[] params) {
    Func f = fdRead;
    return f == null ? Val.fromI32(ERRNO_NOSYS) : f.call(store, params)[0];
  }

  Val pollOneoff(Store<Void> store, Val[] params) {
    Func f = pollOneoff;
    return f == null ? Val.fromI32(ERRNO_NOSYS) : f.call(store, params)[0];
  }

  @Override
  public void close() {
    for (AutoCloseable c :
        new AutoCloseable[] {fdRead, pollOneoff, instance, wasiFdRead, wasiPoll}) {
      if (c != null) {
        try {
          c.close();
        } catch (Exception ignored) {
          // best effort; the store owns what remains
        }
      }
    }
    fdRead = null;
    pollOneoff = null;
  }
}
