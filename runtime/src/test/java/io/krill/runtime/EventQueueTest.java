package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class EventQueueTest {
  private static TaskEvent started(int n) {
    return new TaskEvent.Started("c" + n, n);
  }

  @Test
  void publish_manyEvents_deliveredInOrderToEverySubscriber() throws Exception {
    try (EventQueue q = new EventQueue()) {
      List<TaskEvent> first = new CopyOnWriteArrayList<>();
      List<TaskEvent> second = new CopyOnWriteArrayList<>();
      q.subscribe(first::add);
      q.subscribe(second::add);
      List<TaskEvent> sent = IntStream.range(0, 1000).mapToObj(EventQueueTest::started).toList();
      sent.forEach(q::publish);
      q.awaitDelivered(30_000);
      assertEquals(sent, first);
      assertEquals(sent, second);
    }
  }

  @Test
  void publish_underALockTheSubscriberTakes_returnsAtOnceAndDeliversOnTheEventThread()
      throws Exception {
    Object lock = new Object();
    List<String> threads = new CopyOnWriteArrayList<>();
    CountDownLatch got = new CountDownLatch(1);
    try (EventQueue q = new EventQueue()) {
      q.subscribe(
          e -> {
            synchronized (lock) {
              threads.add(Thread.currentThread().getName());
            }
            got.countDown();
          });
      synchronized (lock) {
        q.publish(started(1));
        // The subscriber cannot have run: it needs the lock this thread holds.
        assertEquals(List.of(), threads);
      }
      assertTrue(got.await(30, TimeUnit.SECONDS));
      assertEquals(List.of("krill-events-1"), threads);
    }
  }

  @Test
  void subscriberThatWaits_doesNotHoldBackAnother() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    List<TaskEvent> slow = new CopyOnWriteArrayList<>();
    List<TaskEvent> fast = new CopyOnWriteArrayList<>();
    CountDownLatch fastGotAll = new CountDownLatch(3);
    try (EventQueue q = new EventQueue()) {
      q.subscribe(
          e -> {
            try {
              release.await();
            } catch (InterruptedException ex) {
              Thread.currentThread().interrupt();
            }
            slow.add(e);
          });
      q.subscribe(
          e -> {
            fast.add(e);
            fastGotAll.countDown();
          });
      q.publish(started(1));
      q.publish(started(2));
      q.publish(started(3));
      assertTrue(fastGotAll.await(30, TimeUnit.SECONDS));
      assertEquals(List.of(started(1), started(2), started(3)), fast);
      assertEquals(List.of(), slow);
      release.countDown();
      q.awaitDelivered(30_000);
      assertEquals(List.of(started(1), started(2), started(3)), slow);
    }
  }

  @Test
  void subscriberThrows_laterSubscribersAndEventsStillDelivered() throws Exception {
    List<TaskEvent> got = new CopyOnWriteArrayList<>();
    try (EventQueue q = new EventQueue()) {
      q.subscribe(
          e -> {
            throw new IllegalStateException("broken subscriber");
          });
      q.subscribe(got::add);
      q.publish(started(1));
      q.publish(started(2));
      q.awaitDelivered(30_000);
      assertEquals(List.of(started(1), started(2)), got);
    }
  }

  @Test
  void close_deliversWhatIsQueued_thenDropsLaterEvents() {
    List<TaskEvent> got = new CopyOnWriteArrayList<>();
    EventQueue q = new EventQueue();
    q.subscribe(
        e -> {
          try {
            Thread.sleep(2);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
          got.add(e);
        });
    List<TaskEvent> sent = IntStream.range(0, 50).mapToObj(EventQueueTest::started).toList();
    sent.forEach(q::publish);
    q.close();
    assertEquals(sent, got);
    q.publish(started(99));
    q.close();
    assertEquals(50, got.size());
  }
}
