package io.krill.runtime;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The core's one ordered event queue. The core enqueues under its locks, in lifecycle order; one
 * thread delivers each event to every subscriber, in that order, holding no lock of the core, so a
 * subscriber may call back into {@link TaskManager} and may take its time (sending to containerd,
 * writing files).
 */
final class EventQueue implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("krill.events");
  private static final long CLOSE_MILLIS = 5000;

  private record Item(long seq, TaskEvent event) {}

  private static final Item STOP = new Item(-1, null);

  private final List<EventSink> sinks = new CopyOnWriteArrayList<>();
  private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final Thread thread;
  private long enqueued;
  private long delivered;
  private boolean closed;

  EventQueue() {
    thread = new Thread(this::run, "krill-events");
    thread.setDaemon(true);
    thread.start();
  }

  void subscribe(EventSink sink) {
    sinks.add(sink);
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
    queue.add(new Item(++enqueued, event));
  }

  /** Waits (bounded) until every event published before this call has reached every subscriber. */
  void awaitDelivered(long timeoutMillis) throws InterruptedException {
    if (Thread.currentThread() == thread) {
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    synchronized (this) {
      long target = enqueued;
      while (delivered < target) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0 || !thread.isAlive()) {
          return;
        }
        wait(left);
      }
    }
  }

  private void run() {
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
      for (EventSink sink : sinks) {
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
      }
      synchronized (this) {
        delivered = item.seq();
        notifyAll();
      }
    }
  }

  /** Delivers what is queued (bounded wait), then stops the thread. */
  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      queue.add(STOP);
    }
    if (Thread.currentThread() == thread) {
      return;
    }
    try {
      thread.join(CLOSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
