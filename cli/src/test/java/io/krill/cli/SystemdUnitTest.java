package io.krill.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The unit shipped in packaging/systemd starts a command the CLI and bin/krill accept. */
class SystemdUnitTest {
  private static String execStart() throws Exception {
    String unit = InstallCommand.resource("systemd/" + Node.UNIT);
    return unit.lines()
        .filter(l -> l.startsWith("ExecStart="))
        .findFirst()
        .orElseThrow()
        .substring("ExecStart=".length());
  }

  @Test
  void execStart_namesDaemonCommandWithOptionsTheCliAccepts() throws Exception {
    List<String> argv = Arrays.asList(execStart().replace("%i", "k8s.io").split(" "));
    assertEquals(
        "/opt/krill/bin/krill", argv.get(0), "the path krill install copies the release to");
    Object daemon =
        Main.standard()
            .commandLine(new Console(System.out, System.err, Map.of(), Path.of("/opt/krill")))
            .getSubcommands()
            .get(argv.get(1))
            .getCommand();
    assertTrue(
        daemon instanceof DaemonCommand, "krill " + argv.get(1) + " is not the daemon command");
    List<String> launcher =
        DaemonCommand.launcherCommand(Path.of("/opt/krill"), argv.subList(2, argv.size()));
    assertEquals(
        List.of("/opt/krill/bin/" + Node.SHIM, "daemon", "--namespace", "k8s.io"), launcher);
  }

  @Test
  void krillScript_handsDaemonToTheLauncher() throws Exception {
    String script = Files.readString(Path.of("../packaging/krill.sh"));
    assertTrue(
        script.contains(
            "if [ \"${1:-}\" = daemon ] && ! wants_help \"$@\"; then\n    exec \"$home/bin/"
                + Node.SHIM
                + "\" \"$@\""),
        script);
  }

  @Test
  void launcherCommand_unknownOption_refused() {
    assertThrows(
        IllegalArgumentException.class,
        () -> DaemonCommand.launcherCommand(Path.of("/opt/krill"), List.of("--namespcae", "x")));
  }
}
