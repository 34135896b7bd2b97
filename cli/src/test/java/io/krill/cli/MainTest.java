package io.krill.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The command tree: help everywhere, usage errors exit 2 with a clear message. */
class MainTest {
  private static final List<String> COMMANDS =
      List.of("install", "uninstall", "version", "doctor", "image", "daemon", "cri", "help");
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private int krill(String... args) {
    Console c =
        new Console(
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8),
            Map.of("PATH", ""),
            Path.of("/nonexistent-krill-home"));
    return Main.standard().run(List.of(args), c);
  }

  @Test
  void help_listsEverySubcommand() {
    assertEquals(0, krill("help"));
    for (String c : COMMANDS) {
      assertTrue(out.toString().matches("(?s).*\\n  " + c + " .*"), c + " in\n" + out);
    }
    out.reset();
    assertEquals(0, krill("--help"));
    assertTrue(out.toString().contains("  cri "), out.toString());
  }

  @Test
  void noCommand_listAndExit2() {
    assertEquals(2, krill());
    assertTrue(out.toString().contains("  install "), out.toString());
  }

  @Test
  void everyCommand_dashDashHelp_exit0WithItsUsage() {
    for (String c : COMMANDS.subList(0, COMMANDS.size() - 1)) {
      out.reset();
      assertEquals(0, krill(c, "--help"), c);
      assertTrue(out.toString().startsWith("Usage: krill " + c), c + ":\n" + out);
    }
    for (String c : List.of("build", "push", "pull", "inspect")) {
      out.reset();
      assertEquals(0, krill("image", c, "-h"), c);
      assertTrue(out.toString().startsWith("Usage: krill image " + c), c + ":\n" + out);
    }
  }

  @Test
  void criHelp_listsItsOptions() {
    assertEquals(0, krill("cri", "--help"));
    for (String o :
        List.of(
            "--socket",
            "--root",
            "--stream-address",
            "--image-size-limit",
            "--plain-http-registry")) {
      assertTrue(out.toString().contains(o), o + " in\n" + out);
    }
    out.reset();
    assertEquals(0, krill("help", "cri"));
    assertTrue(out.toString().contains("--image-size-limit"), out.toString());
  }

  @Test
  void unknownFlag_exit2NamingIt() {
    assertEquals(2, krill("install", "--frobnicate"));
    assertTrue(
        err.toString().contains("krill install: Unknown option: '--frobnicate'"), err.toString());
    assertTrue(err.toString().contains("Usage: krill install"), err.toString());
  }

  @Test
  void unknownCommand_exit2() {
    assertEquals(2, krill("frobnicate"));
    assertTrue(err.toString().contains("unknown command frobnicate"), err.toString());
  }

  @Test
  void criBadSize_exit2SayingWhatIsAccepted() {
    assertEquals(2, krill("cri", "--image-size-limit", "lots"));
    assertTrue(
        err.toString().contains("--image-size-limit") && err.toString().contains("512Mi or 4G"),
        err.toString());
  }

  @Test
  void cri_helpAndErrorsSameAsInTheFullTree() {
    Console c = new Console(System.out, System.err, Map.of(), Path.of("/k"));
    Main main = Main.standard();
    assertEquals(
        main.commandLine(c).getSubcommands().get("cri").getUsageMessage(),
        main.criCommandLine(c).getSubcommands().get("cri").getUsageMessage());
    assertEquals(0, krill("cri", "--help"));
    assertEquals(main.commandLine(c).getSubcommands().get("cri").getUsageMessage(), out.toString());
    assertEquals(2, krill("cri", "--bogus"));
    assertTrue(err.toString().startsWith("krill cri: Unknown option: '--bogus'"), err.toString());
  }

  @Test
  void criMissingValue_exit2() {
    assertEquals(2, krill("cri", "--socket"));
    assertTrue(err.toString().contains("--socket"), err.toString());
  }

  @Test
  void laterOptionWins_butImageRefusesRepeats() {
    CommandLine cl =
        Main.standard().commandLine(new Console(System.out, System.err, Map.of(), Path.of("/k")));
    CommandLine.ParseResult r =
        cl.parseArgs("cri", "--socket", "/a", "--root", "/r", "--socket", "/b");
    assertEquals(Path.of("/b"), r.subcommand().matchedOptionValue("--socket", null));
    assertEquals(2, krill("image", "build", "m.wasm", "-t", "a:1", "-t", "b:1", "-o", "x.tar"));
    assertTrue(err.toString().contains("--tag"), err.toString());
  }

  @Test
  void image_noSubcommand_exit2() {
    assertEquals(2, krill("image"));
    assertTrue(err.toString().contains("missing subcommand"), err.toString());
  }

  @Test
  void imageBuild_missingTag_exit2() {
    assertEquals(2, krill("image", "build", "m.wasm", "-o", "out.tar"));
    assertTrue(err.toString().contains("--tag"), err.toString());
  }

  @Test
  void imageInspect_usernameWithoutPasswordStdin_exit2() {
    assertEquals(2, krill("image", "inspect", "localhost:5000/x:1", "--username", "u"));
    assertTrue(err.toString().contains("--password-stdin"), err.toString());
  }

  @Test
  void daemon_launcherCommandKeepsOptions() {
    assertEquals(
        List.of(
            "/k/bin/" + Node.SHIM,
            "daemon",
            "--namespace",
            "ns",
            "--address",
            "/a.sock",
            "--debug",
            "--dry-run"),
        DaemonCommand.launcherCommand(
            Path.of("/k"),
            List.of("--debug", "--address=/a.sock", "--namespace", "ns", "--dry-run")));
  }
}
