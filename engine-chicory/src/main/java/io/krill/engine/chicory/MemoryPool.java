package io.krill.engine.chicory;

import com.dylibso.chicory.wasm.types.MemoryLimits;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The linear memories of one program's finished instances (an instance per request), zeroed and
 * kept for its next instances. A fresh {@link OffHeapMemory} costs a reservation (mmap), a page
 * fault for every page the instance touches and a madvise when it ends; with a request's instance
 * living for a fraction of a millisecond, and many at once, that was most of a request's CPU, and
 * the mmap and madvise take the process's address-space lock that every other thread's page faults
 * wait for. A memory taken from here has its first pages resident and zero already.
 *
 * <p>Only instances of the same program (one container's module) share memories. What the pool
 * keeps resident is bounded by {@code retainBytes}; beyond it a finished memory is handed back and
 * dropped.
 */
final class MemoryPool {
  /**
   * Of a finished memory, the bytes zeroed in place and kept resident (the rest is handed back):
   * enough for a small guest's data, stack and heap, little to zero.
   */
  static final long KEEP_RESIDENT = 512 * 1024;

  private final ConcurrentLinkedDeque<OffHeapMemory> idle = new ConcurrentLinkedDeque<>();
  private final AtomicLong retained = new AtomicLong();
  private final long retainBytes;
  private volatile boolean closed;

  /**
   * @param retainBytes at most this many resident bytes kept between instances
   */
  MemoryPool(long retainBytes) {
    this.retainBytes = retainBytes;
  }

  /** A memory for a new instance: an idle one of this size and reach, else a new one. */
  OffHeapMemory take(MemoryLimits limits) {
    OffHeapMemory m = idle.pollFirst();
    if (m == null) {
      return new OffHeapMemory(limits);
    }
    retained.addAndGet(-m.residentAfterReset());
    if (m.fits(limits)) {
      return m;
    }
    m.release();
    return new OffHeapMemory(limits);
  }

  /** The memory of an instance that has ended: kept for the next one, or handed back. */
  void giveBack(OffHeapMemory m) {
    if (closed) {
      m.release();
      return;
    }
    long kept = m.reset(KEEP_RESIDENT);
    if (retained.addAndGet(kept) > retainBytes) {
      retained.addAndGet(-kept);
      m.release();
      return;
    }
    idle.offerFirst(m);
    if (closed) {
      drain();
    }
  }

  /** Hands every idle memory back; memories given back afterwards are handed back at once. */
  void close() {
    closed = true;
    drain();
  }

  private void drain() {
    for (OffHeapMemory m; (m = idle.pollFirst()) != null; ) {
      retained.addAndGet(-m.residentAfterReset());
      m.release();
    }
  }

  /** Resident bytes the idle memories hold (for tests). */
  long retained() {
    return retained.get();
  }

  /** Idle memories (for tests). */
  int idle() {
    return idle.size();
  }
}
