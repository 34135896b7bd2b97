package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** The built {@code krill} command, run to completion with its output captured. */
public final class KrillCli {
  private KrillCli() {}

  /**
   * Runs {@code krill ARGS...} from the built distribution, stdin from /dev/null, for at most 120
   * s.
   */
  public static Result krill(String... args) {
    List<String> cmd = new ArrayList<>(List.of(Dist.binDir().resolve("krill").toString()));
    cmd.addAll(List.of(args));
    try {
      Process p =
          new ProcessBuilder(cmd)
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      var out = p.getInputStream();
      var err = p.getErrorStream();
      var errText = new CompletableFuture<String>();
      new Thread(
              () -> {
                try {
                  errText.complete(new String(err.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                  errText.complete(e.toString());
                }
              })
          .start();
      String outText = new String(out.readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("krill " + String.join(" ", args) + " did not finish in 120 s");
      }
      return new Result(cmd, p.exitValue(), outText, errText.join());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** {@link #krill}, failing the test unless it exits 0. */
  public static Result krillOk(String... args) {
    Result r = krill(args);
    if (!r.ok()) {
      fail("krill failed: " + r);
    }
    return r;
  }
}
