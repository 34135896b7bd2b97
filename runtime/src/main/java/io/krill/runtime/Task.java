package io.krill.runtime;

import io.krill.runtime.engine.Guest;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** One container: its spec, prepared guest, state and exit. Mutated only by {@link TaskManager}. */
final class Task {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  final TaskSpec spec;
  final Path rootfs;
  final boolean mountedRootfs;
  final long memoryLimit;
  final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
  Guest guest;
  TaskState state = TaskState.CREATED;
  volatile Thread thread;
  volatile int killSignal;
  private volatile long finalCpuNanos = -1;

  Task(TaskSpec spec, Path rootfs, boolean mountedRootfs, long memoryLimit) {
    this.spec = spec;
    this.rootfs = rootfs;
    this.mountedRootfs = mountedRootfs;
    this.memoryLimit = memoryLimit;
  }

  String id() {
    return spec.id();
  }

  long cpuNanos() {
    Thread t = thread;
    if (finalCpuNanos >= 0 || t == null) {
      return Math.max(finalCpuNanos, 0);
    }
    long n = THREADS.getThreadCpuTime(t.getId());
    return Math.max(n, 0);
  }

  /** Called on the guest thread as it ends, while its CPU time can still be read. */
  void recordFinalCpu() {
    long n = THREADS.getThreadCpuTime(Thread.currentThread().getId());
    finalCpuNanos = Math.max(n, 0);
  }
}
