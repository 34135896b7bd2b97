package io.krill.wagi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class AccessLogTest {
  /** Records each write; the first one waits for {@code release} when {@code hold} is set. */
  static final class Sink implements WritableByteChannel {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final CountDownLatch entered = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final boolean hold;
    int writes;

    Sink(boolean hold) {
      this.hold = hold;
    }

    @Override
    public int write(ByteBuffer src) {
      if (hold && entered.getCount() > 0) {
        entered.countDown();
        try {
          release.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      int n = src.remaining();
      byte[] b = new byte[n];
      src.get(b);
      synchronized (this) {
        bytes.write(b, 0, n);
        writes++;
      }
      return n;
    }

    synchronized List<String> lines() {
      return List.of(bytes.toString(StandardCharsets.UTF_8).split("\n"));
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }

  @Test
  void aLine_methodTargetStatusAndDurationInTenthsOfAMillisecond() {
    Sink sink = new Sink(false);
    new AccessLog(sink).log("GET", "/echo?x=1", 200, System.nanoTime() - 3_140_000);
    String line = sink.lines().get(0);
    assertTrue(line.matches("GET /echo\\?x=1 200 3\\.[1-9]ms"), line);
  }

  @Test
  void linesLoggedDuringAWrite_goOutTogetherAfterIt_noneLostNoneTorn() throws Exception {
    Sink sink = new Sink(true);
    AccessLog log = new AccessLog(sink);
    Thread first = new Thread(() -> log.append("first\n"));
    first.start();
    assertTrue(sink.entered.await(10, TimeUnit.SECONDS));
    List<Thread> others = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      int id = t;
      Thread th =
          new Thread(
              () -> {
                for (int i = 0; i < 100; i++) {
                  log.append("line " + id + " " + i + "\n");
                }
              });
      others.add(th);
      th.start();
    }
    for (Thread th : others) {
      th.join(10_000);
      assertTrue(!th.isAlive(), "a logger waited for the blocked write");
    }
    sink.release.countDown();
    first.join(10_000);

    List<String> lines = sink.lines();
    assertEquals(801, lines.size());
    assertEquals(801, new HashSet<>(lines).size());
    assertEquals("first", lines.get(0));
    assertTrue(sink.writes <= 2, sink.writes + " writes");
  }

  @Test
  void aReaderThatStopped_dropsLinesBeyondTheBound_notRequests() throws Exception {
    Sink sink = new Sink(true);
    AccessLog log = new AccessLog(sink);
    Thread first = new Thread(() -> log.append("first\n"));
    first.start();
    assertTrue(sink.entered.await(10, TimeUnit.SECONDS));
    String line = "x".repeat(1023) + "\n";
    for (int i = 0; i < 2 * AccessLog.MAX_PENDING / line.length(); i++) {
      log.append(line);
    }
    sink.release.countDown();
    first.join(10_000);
    Set<Integer> lengths = new HashSet<>();
    for (String l : sink.lines().subList(1, sink.lines().size())) {
      lengths.add(l.length());
    }
    assertEquals(Set.of(1023), lengths, "whole lines only");
    assertEquals(AccessLog.MAX_PENDING / line.length(), sink.lines().size() - 1);
  }

  @Test
  void logLater_leavesTheWriteToTheExecutor_orToTheNextLineWhenItRefuses() {
    Sink sink = new Sink(false);
    AccessLog log = new AccessLog(sink);
    List<Runnable> given = new ArrayList<>();
    log.logLater("GET", "/a", 408, System.nanoTime(), given::add);
    assertEquals(0, sink.writes, "the caller wrote");
    assertEquals(1, given.size());
    given.get(0).run();
    assertEquals("GET /a 408", sink.lines().get(0).substring(0, 10));

    log.logLater(
        "GET",
        "/b",
        503,
        System.nanoTime(),
        r -> {
          throw new RejectedExecutionException("full");
        });
    assertEquals(1, sink.writes, "the caller wrote");
    log.log("GET", "/c", 200, System.nanoTime());
    List<String> lines = sink.lines();
    assertEquals(3, lines.size());
    assertTrue(lines.get(1).startsWith("GET /b 503") && lines.get(2).startsWith("GET /c 200"));
  }

  @Test
  void flush_writesWhatADroppedWriteLeft() {
    Sink sink = new Sink(false);
    AccessLog log = new AccessLog(sink);
    log.logLater("GET", "/a", 413, System.nanoTime(), r -> {}); // taken, never run
    log.logLater("GET", "/b", 408, System.nanoTime(), r -> {});
    assertEquals(0, sink.writes);
    log.flush();
    assertEquals(2, sink.lines().size());
  }
}
