package io.krill.runtime;

import static io.krill.runtime.TaskFixture.PATIENCE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.RuntimeSpec;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class TaskManagerEventsAndStatsTest {
  @TempDir Path tmp;
  TaskFixture f;

  @BeforeEach
  void setUp() {
    f = new TaskFixture(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  @Test
  void subscriber_callingBackIntoTheCore_neverDeadlocks_andDeletesOnExit() throws Exception {
    int n = 10;
    Set<String> deleted = ConcurrentHashMap.newKeySet();
    CountDownLatch allDeleted = new CountDownLatch(n);
    f.tasks.subscribe(
        e -> {
          // Reads every process's state (each under its own lock) while other guests publish under
          // theirs.
          for (String id : f.tasks.ids()) {
            try {
              f.tasks.info(id);
            } catch (KrillException gone) {
              // deleted meanwhile
            }
          }
          if (e instanceof TaskEvent.Exited x && !x.isExec()) {
            f.tasks.delete(x.containerId());
          } else if (e instanceof TaskEvent.Deleted d && deleted.add(d.containerId())) {
            allDeleted.countDown();
          }
        });
    for (int i = 0; i < n; i++) {
      Bundle b = f.bundleWithResource("hello-" + i, "hello.wat");
      f.tasks.create(b.spec());
      f.tasks.start(b.id());
    }
    assertTrue(allDeleted.await(PATIENCE.toSeconds(), TimeUnit.SECONDS), "deleted: " + deleted);
    assertEquals(List.of(), f.tasks.ids());
  }

  @Test
  void stats_processes_countsTheRunningProcessAndRunningExecs() throws Exception {
    Bundle b = f.bundleWithResource("spin", "spin.wat");
    f.tasks.create(b.spec());
    assertEquals(0, f.tasks.stats("spin").processes());
    f.startRunning("spin");
    assertEquals(1, f.tasks.stats("spin").processes());
    f.tasks.exec(
        new ExecSpec(
            "spin",
            "e1",
            new RuntimeSpec.Process(List.of("/spin.wat"), List.of(), null, false),
            Stdio.NONE));
    assertEquals(1, f.tasks.stats("spin").processes(), "an exec not yet started is no process");
    f.tasks.start("spin", "e1");
    assertEquals(2, f.tasks.stats("spin").processes());
    f.tasks.kill("spin", "e1", 9, false);
    f.tasks.waitFor("spin", "e1").get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    assertEquals(1, f.tasks.stats("spin").processes());
    f.tasks.kill("spin", 9);
    f.await("spin");
    assertEquals(0, f.tasks.stats("spin").processes());
  }
}
