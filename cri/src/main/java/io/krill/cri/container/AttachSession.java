package io.krill.cri.container;

import io.krill.cri.io.ContainerIo;
import io.krill.cri.io.Fifo;
import io.krill.cri.streaming.Session;
import io.krill.cri.streaming.Session.Outcome;
import io.krill.runtime.KrillException;
import io.krill.runtime.TaskManager;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An attach: the container's output from now on, until it exits (or the client leaves), tapped from
 * its own output pumps through a bounded queue (a slow client is detached, never the log), and the
 * client's stdin into the container's, if it was created with one.
 */
public final class AttachSession {
  /** Output an attached client may fall behind by before it is detached. */
  public static final long ATTACH_BACKLOG = 4L << 20;

  private final TaskManager tasks;
  private final CriContainer c;
  private final ContainerIo io;

  AttachSession(TaskManager tasks, CriContainer c, ContainerIo io) {
    this.tasks = tasks;
    this.c = c;
    this.io = io;
  }

  /** Whether the container was created with a stdin that attached clients may write. */
  public boolean hasStdin() {
    return io.hasStdin();
  }

  /**
   * Streams the container's output from now on until it exits (or the client leaves), and the
   * client's stdin into the container's; with {@code stdinOnce} the guest's stdin ends when this
   * client's does.
   */
  public Outcome run(Session.Streams s) throws IOException {
    record Chunk(String stream, byte[] bytes) {}
    Chunk end = new Chunk("", new byte[0]);
    LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
    AtomicLong backlog = new AtomicLong();
    AtomicBoolean overflow = new AtomicBoolean();
    Runnable detach =
        io.tap(
            new ContainerIo.Tap() {
              @Override
              public void output(String stream, byte[] b, int off, int len) {
                if (overflow.get()) {
                  return;
                }
                if (backlog.addAndGet(len) > ATTACH_BACKLOG) {
                  overflow.set(true);
                  queue.add(end);
                  return;
                }
                byte[] copy = new byte[len];
                System.arraycopy(b, off, copy, 0, len);
                queue.add(new Chunk(stream, copy));
              }

              @Override
              public void end() {
                queue.add(end);
              }
            });
    if (detach == null) {
      return new Outcome.Success();
    }
    s.onClientGone(() -> queue.add(end));
    if (s.stdin() != null) {
      Fifo.daemon(
          "attach-stdin-" + c.id().substring(0, 12),
          () -> {
            byte[] buf = new byte[8192];
            try {
              int n;
              while ((n = s.stdin().read(buf)) > 0) {
                if (!io.writeStdin(buf, 0, n)) {
                  return;
                }
              }
            } catch (IOException ignored) {
              // the client went away
            }
            if (c.stdinOnce()) {
              io.endStdin(
                  () -> {
                    try {
                      tasks.closeStdin(c.id());
                    } catch (KrillException ignored) {
                      // exited meanwhile
                    }
                  });
            }
          });
    }
    try {
      while (true) {
        Chunk chunk = queue.take();
        if (chunk == end) {
          break;
        }
        backlog.addAndGet(-chunk.bytes().length);
        OutputStream to = chunk.stream().equals("stderr") && !s.tty() ? s.stderr() : s.stdout();
        if (to != null) {
          to.write(chunk.bytes());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      detach.run();
    }
    if (overflow.get()) {
      return new Outcome.Failed(
          "container "
              + c.id()
              + ": this attached client fell behind the container's output"
              + " by more than "
              + (ATTACH_BACKLOG >> 20)
              + " MiB and was detached; attach again, or read the log");
    }
    return new Outcome.Success();
  }
}
