package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.FuncType;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Val;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;

/**
 * WASI {@code fd_read} for fd 0 from a {@link GuestStdin}; every other descriptor goes to
 * wasi-common's implementation.
 */
final class FdRead {
  private static final int MAX_READ = 64 * 1024;
  private static final int ERRNO_FAULT = 21;
  private static final int ERRNO_IO = 29;

  private FdRead() {}

  static Func create(
      Store<Void> store, WasiDelegates wasi, GuestStdin stdin, CountDownLatch interrupted) {
    Val.Type i32 = Val.Type.I32;
    FuncType type = new FuncType(new Val.Type[] {i32, i32, i32, i32}, new Val.Type[] {i32});
    return new Func(
        store,
        type,
        (caller, params, results) -> {
          if (params[0].i32() != 0) {
            results[0] = wasi.fdRead(store, params);
            return;
          }
          Extern memExport = caller.getExport("memory").orElse(null);
          if (memExport == null) {
            results[0] = Val.fromI32(ERRNO_FAULT);
            return;
          }
          Memory memory = memExport.memory();
          try {
            ByteBuffer mem = memory.buffer(store).order(ByteOrder.LITTLE_ENDIAN);
            int iovs = params[1].i32();
            int count = params[2].i32();
            int total = 0;
            for (int i = 0; i < count; i++) {
              total += Math.max(0, mem.getInt(iovs + 8 * i + 4));
            }
            ByteBuffer data = ByteBuffer.allocate(Math.min(Math.max(total, 0), MAX_READ));
            int n = data.capacity() == 0 ? 0 : stdin.read(data);
            if (interrupted.getCount() == 0) {
              throw new IllegalStateException("guest interrupted by krill while reading stdin");
            }
            n = Math.max(n, 0);
            data.flip();
            for (int i = 0; i < count && data.hasRemaining(); i++) {
              int buf = mem.getInt(iovs + 8 * i);
              int len = Math.min(mem.getInt(iovs + 8 * i + 4), data.remaining());
              for (int j = 0; j < len; j++) {
                mem.put(buf + j, data.get());
              }
            }
            mem.putInt(params[3].i32(), n);
            results[0] = Val.fromI32(0);
          } catch (IOException | IndexOutOfBoundsException e) {
            results[0] = Val.fromI32(e instanceof IOException ? ERRNO_IO : ERRNO_FAULT);
          } finally {
            memory.close();
          }
        });
  }
}
