package io.krill.runtime;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The core's ordered event queue. The core enqueues under its locks, in lifecycle order; each
 * subscriber has a lane of its own, a thread that delivers every event to it in that order, holding
 * no lock of the core, so a subscriber may call back into {@link TaskManager} and may take its
 * time. One lane per subscriber: a subscriber that waits (the publisher retrying while containerd
 * restarts) never holds back another (the state files the launcher's {@code delete} reads).
 */
final class EventQueue implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("krill.events");
  private static final long CLOSE_MILLIS = 5000;

  private record Item(long seq, TaskEvent event) {}

  private static final Item STOP = new Item(-1, null);

  private final List<Lane> lanes = new CopyOnWriteArrayList<>();
  private long enqueued;
  private boolean closed;

  /** One subscriber's queue and the thread that delivers it. */
  private final class Lane {
    final EventSink sink;
    final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    final Thread thread;
    long delivered;

    Lane(EventSink sink, long delivered, int n) {
      this.sink = sink;
      this.delivered = delivered;
      thread = new Thread(this::run, "krill-events-" + n);
      thread.setDaemon(true);
    }

    void run() {
      while (true) {
        Item item;
        try {
          item = queue.take();
        } catch (InterruptedException e) {
          return;
        }
        if (item == STOP) {
          return;
        }
        try {
          sink.publish(item.event());
        } catch (RuntimeException e) {
          LOG.log(
              Level.WARNING,
              "container {0}: event subscriber failed on {1}: {2}",
              item.event().containerId(),
              item.event().getClass().getSimpleName(),
              String.valueOf(e));
        }
        synchronized (EventQueue.this) {
          delivered = item.seq();
          EventQueue.this.notifyAll();
        }
      }
    }
  }

  /** Events published from now on reach {@code sink}, in order, on a thread of its own. */
  synchronized void subscribe(EventSink sink) {
    if (closed) {
      throw new IllegalStateException("event queue closed");
    }
    Lane lane = new Lane(sink, enqueued, lanes.size() + 1);
    lanes.add(lane);
    lane.thread.start();
  }

  /**
   * Never blocks: called under the core's locks. Events published after {@link #close()} are
   * dropped.
   */
  synchronized void publish(TaskEvent event) {
    if (closed) {
      LOG.log(
          Level.WARNING,
          "container {0}: event {1} after shutdown, not delivered",
          event.containerId(),
          event.getClass().getSimpleName());
      return;
    }
    Item item = new Item(++enqueued, event);
    for (Lane lane : lanes) {
      lane.queue.add(item);
    }
  }

  /** Waits (bounded) until every event published before this call has reached every subscriber. */
  void awaitDelivered(long timeoutMillis) throws InterruptedException {
    if (onLaneThread()) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (this) {
      long target = enqueued;
      while (true) {
        Lane behind = null;
        for (Lane lane : lanes) {
          if (lane.delivered < target && lane.thread.isAlive()) {
            behind = lane;
            break;
          }
        }
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (behind == null || left <= 0) {
          return;
        }
        wait(left);
      }
    }
  }

  private boolean onLaneThread() {
    for (Lane lane : lanes) {
      if (Thread.currentThread() == lane.thread) {
        return true;
      }
    }
    return false;
  }

  /** Delivers what is queued (bounded wait), then stops the lanes' threads. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      for (Lane lane : lanes) {
        lane.queue.add(STOP);
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_MILLIS);
    for (Lane lane : lanes) {
      if (Thread.currentThread() == lane.thread) {
        continue;
      }
      try {
        lane.thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
