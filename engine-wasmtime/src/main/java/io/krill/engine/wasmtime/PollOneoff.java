package io.krill.engine.wasmtime;

import io.github.kawamuray.wasmtime.Extern;
import io.github.kawamuray.wasmtime.Func;
import io.github.kawamuray.wasmtime.FuncType;
import io.github.kawamuray.wasmtime.Memory;
import io.github.kawamuray.wasmtime.Store;
import io.github.kawamuray.wasmtime.Val;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * WASI {@code poll_oneoff}, replacing wasi-common's for the common case of a guest that sleeps
 * (only relative clock subscriptions): wasi-common sleeps in native code that nothing can wake, so
 * a killed sleeper would live on until its timer fired. Here the sleep waits on the guest's
 * interrupt latch instead. Every other shape of call goes to the original implementation.
 */
final class PollOneoff {
  private static final int SUBSCRIPTION_SIZE = 48;
  private static final int EVENT_SIZE = 32;
  private static final int EVENTTYPE_CLOCK = 0;
  private static final int ERRNO_INVAL = 28;

  private PollOneoff() {}

  static Func create(Store<Void> store, WasiDelegates wasi, CountDownLatch interrupted) {
    Val.Type i32 = Val.Type.I32;
    FuncType type = new FuncType(new Val.Type[] {i32, i32, i32, i32}, new Val.Type[] {i32});
    return new Func(
        store,
        type,
        (caller, params, results) -> {
          Extern memExport = caller.getExport("memory").orElse(null);
          if (memExport == null) {
            results[0] = Val.fromI32(ERRNO_INVAL);
            return;
          }
          Memory memory = memExport.memory();
          try {
            ByteBuffer mem = memory.buffer(store).order(ByteOrder.LITTLE_ENDIAN);
            int in = params[0].i32();
            int out = params[1].i32();
            int n = params[2].i32();
            int neventsPtr = params[3].i32();
            long sleepNanos = relativeSleep(mem, in, n);
            if (sleepNanos < 0) {
              results[0] = wasi.pollOneoff(store, params);
              return;
            }
            if (n <= 0) {
              results[0] = Val.fromI32(ERRNO_INVAL);
              return;
            }
            if (interrupted.await(sleepNanos, TimeUnit.NANOSECONDS)) {
              throw new IllegalStateException("guest interrupted by krill while sleeping");
            }
            int events = 0;
            for (int i = 0; i < n; i++) {
              int sub = in + i * SUBSCRIPTION_SIZE;
              if (mem.getLong(sub + 24) <= sleepNanos) {
                int ev = out + events * EVENT_SIZE;
                mem.putLong(ev, mem.getLong(sub));
                mem.putShort(ev + 8, (short) 0);
                mem.put(ev + 10, (byte) EVENTTYPE_CLOCK);
                events++;
              }
            }
            mem.putInt(neventsPtr, events);
            results[0] = Val.fromI32(0);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("guest thread interrupted", e);
          } finally {
            memory.close();
          }
        });
  }

  /** The shortest timeout when every subscription is a relative clock one, else -1 (delegate). */
  private static long relativeSleep(ByteBuffer mem, int in, int n) {
    if (n <= 0 || in < 0 || (long) in + (long) n * SUBSCRIPTION_SIZE > mem.capacity()) {
      return -1;
    }
    long min = Long.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      int sub = in + i * SUBSCRIPTION_SIZE;
      int tag = mem.get(sub + 8);
      int flags = mem.getShort(sub + 40);
      if (tag != EVENTTYPE_CLOCK || (flags & 1) != 0) {
        return -1;
      }
      long timeout = mem.getLong(sub + 24);
      min = Math.min(min, Math.max(0, timeout));
    }
    return min;
  }
}
