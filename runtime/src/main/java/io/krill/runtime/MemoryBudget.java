package io.krill.runtime;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The daemon's budget for guest linear memory, and its admission control: every wasm process (a
 * container's own guest and each exec) reserves its memory cap before it is compiled and gives it
 * back when its guest is freed. A process whose cap would not fit is refused, so the sum of the
 * caps of all live guests never exceeds the budget and no guest can grow the daemon out of its
 * memory.
 *
 * <p>The cap is reserved whole, not what the guest uses now: a wasm guest can grow to its cap at
 * any moment, and the daemon must survive that. A guest without a cap can grow to the wasm32
 * maximum of 4 GiB, which is what it reserves.
 */
public final class MemoryBudget {
  /** What a guest without a cap can reach: 65,536 pages of 64 KiB. */
  public static final long WASM32_MAX_BYTES = 4L << 30;

  private final long total;
  private long reserved;
  private int guests;

  private MemoryBudget(long total) {
    if (total < 0) {
      throw new IllegalArgumentException("a memory budget cannot be negative: " + total);
    }
    this.total = total;
  }

  /** A budget of {@code bytes} for the linear memory of all guests together. */
  public static MemoryBudget of(long bytes) {
    return new MemoryBudget(bytes);
  }

  /** No admission control: every cap fits (tests, and callers that manage memory elsewhere). */
  public static MemoryBudget unlimited() {
    return new MemoryBudget(Long.MAX_VALUE);
  }

  public long totalBytes() {
    return total;
  }

  public synchronized long reservedBytes() {
    return reserved;
  }

  /** How many guests hold a reservation now. */
  public synchronized int guests() {
    return guests;
  }

  /** What a guest with memory cap {@code capBytes} (0 = none) reserves. */
  public static long reservationFor(long capBytes) {
    return capBytes <= 0 ? WASM32_MAX_BYTES : Math.min(capBytes, WASM32_MAX_BYTES);
  }

  /**
   * Reserves the cap of one guest of container {@code containerId} ({@code what}: "it" for the
   * container's own guest, "exec X" for an exec), or refuses it with RESOURCE_EXHAUSTED saying what
   * to do.
   */
  public Reservation reserve(String containerId, String what, long capBytes) {
    long need = reservationFor(capBytes);
    synchronized (this) {
      if (need <= total - reserved) {
        reserved += need;
        guests++;
        return new Reservation(need);
      }
      throw new KrillException(ErrorCode.RESOURCE_EXHAUSTED, refusal(containerId, what, capBytes));
    }
  }

  /** Called with the lock held. */
  private String refusal(String containerId, String what, long capBytes) {
    String cap =
        capBytes <= 0
            ? "has no memory limit (and default_memory_limit is 0), so it may grow to "
                + bytes(WASM32_MAX_BYTES)
            : "has a memory limit of " + bytes(capBytes);
    String budget =
        "the krill daemon's memory budget for guests is "
            + bytes(total)
            + (guests == 0
                ? ""
                : ", of which "
                    + bytes(reserved)
                    + " is held by "
                    + guests
                    + (guests == 1 ? " running guest" : " running guests"));
    String todo =
        reservationFor(capBytes) > total
            ? "give it a lower memory limit (ctr run --memory-limit, resources.limits.memory in"
                + " Kubernetes) or raise memory_budget in /etc/krill/config.toml"
                + " (KRILL_MEMORY_BUDGET)"
            : "wait for other containers to end, give it a lower memory limit (ctr run"
                + " --memory-limit, resources.limits.memory in Kubernetes) or raise memory_budget"
                + " in /etc/krill/config.toml (KRILL_MEMORY_BUDGET)";
    return "container "
        + containerId
        + ": refused: "
        + ("it".equals(what) ? "it " : what + " ")
        + cap
        + ", which does not fit: "
        + budget
        + "; "
        + todo;
  }

  /** Sizes for people: whole MiB or GiB where exact, else bytes with the MiB rounded. */
  static String bytes(long n) {
    if (n % (1L << 30) == 0 && n > 0) {
      return (n >> 30) + " GiB";
    }
    if (n % (1L << 20) == 0) {
      return (n >> 20) + " MiB";
    }
    return n + " bytes (" + Math.round(n / (double) (1L << 20)) + " MiB)";
  }

  /** One guest's share; {@link #close()} gives it back, once, however often it is called. */
  public final class Reservation implements AutoCloseable {
    private final long bytes;
    private final AtomicBoolean released = new AtomicBoolean();

    private Reservation(long bytes) {
      this.bytes = bytes;
    }

    public long bytes() {
      return bytes;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true)) {
        synchronized (MemoryBudget.this) {
          reserved -= bytes;
          guests--;
        }
      }
    }
  }
}
