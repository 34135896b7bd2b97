package io.krill.it.shim;

import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestImages;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Compiled modules in the daemon's memory under {@code ctr run}: replicas of one module started
 * together compile it once and the rest load it from memory, and a kill still stops only its own
 * guest (each guest keeps its own Wasmtime engine).
 */
class ModuleMemoryCacheE2ETest {
  // Debug logging: the daemon says where each container's compiled module came from.
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds =
      ContainerdPerClass.withKrillPrivateCache(Map.of("KRILL_LOG_LEVEL", "debug"));

  private static final String NS = "krill-modmem";

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void replicasStartedTogether_compileOnce_killOneTheOthersSpinOn(ContainerdVersion v)
      throws Exception {
    Containerd c = containerds.get(v);
    String image = TestImages.PROGS.importInto(c, NS);
    List<String> ids = IntStream.range(0, 4).mapToObj(i -> id("spin" + i)).toList();

    runDetachedAll(c, NS, image, ids, ids.size(), "/spin.wasm");
    ids.forEach(id -> Tasks.awaitRunning(c, NS, id));

    List<String> fromDiskOrCompiled =
        ids.stream()
            .filter(
                id ->
                    !linesAbout(c, id, "filed in the cache").isEmpty()
                        || !linesAbout(c, id, "verified in the cache").isEmpty())
            .toList();
    assertEquals(1, fromDiskOrCompiled.size(), fromDiskOrCompiled + "\n" + daemonLog(c));
    List<String> fromMemory =
        ids.stream().filter(id -> !linesAbout(c, id, "found in memory").isEmpty()).toList();
    assertEquals(ids.size() - 1, fromMemory.size(), fromMemory + "\n" + daemonLog(c));

    killAndRemove(c, NS, ids.get(1));
    Map<String, Tasks.Task> tasks = Tasks.list(c, NS);
    for (String id : List.of(ids.get(0), ids.get(2), ids.get(3))) {
      assertEquals("RUNNING", tasks.get(id).status(), id + " after the kill of " + ids.get(1));
    }

    // One more replica after the others: from memory again, and it stops when killed.
    String late = id("spin-late");
    runDetached(c, NS, image, late, "/spin.wasm");
    assertEquals(1, linesAbout(c, late, "found in memory").size(), daemonLog(c));
    for (String id : List.of(ids.get(0), ids.get(2), ids.get(3), late)) {
      killAndRemove(c, NS, id);
    }
    c.assertNoLeaks();
  }

  private static List<String> linesAbout(Containerd c, String id, String text) {
    return daemonLog(c)
        .lines()
        .filter(l -> l.contains(" container=" + id + " ") && l.contains(text))
        .toList();
  }

  private static String daemonLog(Containerd c) {
    Path dir = c.runDir().resolve("shim").resolve(c.shimSocket(NS).getFileName());
    try {
      return Files.readString(dir.resolve("daemon.log"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
