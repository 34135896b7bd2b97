package io.krill.oci;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code config.json}, an exec's {@code Process} and an Update's resources from arbitrary bytes: a
 * document either parses or fails with an {@link IOException}, and whatever parses answers every
 * accessor the runtime calls without throwing.
 */
class RuntimeSpecFuzzTest {
  private static final Path BUNDLE = Path.of("/run/krill-fuzz/bundle");

  @FuzzTest
  void parse_anyBytes_failsOnlyWithIoExceptionAndAnswersEveryAccessor(byte[] json) {
    try {
      RuntimeSpec spec = RuntimeSpec.parse(json);
      assertNotNull(spec.args());
      assertNotNull(spec.env());
      assertTrue(spec.cwd().length() > 0);
      assertNotNull(spec.rootPath(BUNDLE));
      spec.memoryLimit().ifPresent(limit -> assertTrue(limit > 0));
      spec.namespacePath("network").ifPresent(p -> assertFalse(p.isEmpty()));
      for (RuntimeSpec.Mount m : spec.mounts()) {
        assertNotNull(m.options());
        m.isBind();
        m.readOnly();
      }
      spec.annotations().forEach((k, v) -> assertNotNull(v));
      assertNotNull(spec.withProcess(spec.process()));
      assertNotNull(spec.cpu());
      assertNotNull(spec.cgroupsPath());
    } catch (IOException e) {
      // A malformed spec: Create reports it.
    }
    try {
      RuntimeSpec.Process p = RuntimeSpec.parseProcess(json);
      assertNotNull(p);
    } catch (IOException e) {
      // A malformed exec process: Exec reports it.
    }
    try {
      RuntimeSpec.memoryLimitOfResources(json).ifPresent(limit -> assertTrue(limit > 0));
      RuntimeSpec.cpuOfResources(json).ifPresent(cpu -> assertNotNull(cpu));
    } catch (IOException e) {
      // A malformed Update: reported to the caller.
    }
  }
}
