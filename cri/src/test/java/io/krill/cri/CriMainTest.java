package io.krill.cri;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.image.ImageStore;
import io.krill.cri.pod.cni.CniNetwork;
import io.krill.daemon.DaemonConfigFile;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CriMainTest {
  private static final DaemonConfigFile FILE =
      DaemonConfigFile.parse(
          Path.of("config.toml"),
          List.of(
              "default_memory_limit = \"64Mi\"",
              "[cri]",
              "root = \"/file-root\"",
              "image_size_limit = \"1G\"",
              "plain_http_registries = [\"file:5000\"]",
              "stream_address = \"0.0.0.0:10010\""));

  private static CriMain.Settings parse(DaemonConfigFile file, String... argv) {
    CriMain main = new CriMain();
    new CommandLine(main).parseArgs(argv);
    return main.settings(file, Map.of());
  }

  @Test
  void settings_noFlagsNoFile_defaults() {
    CriMain.Settings s = parse(DaemonConfigFile.empty());
    assertEquals(Path.of("/run/krill/krill.sock"), s.socket());
    assertEquals(Path.of("/var/lib/krill/cri"), s.root());
    assertEquals(CniNetwork.DEFAULT_CONF_DIR, s.cniConf());
    assertEquals(ImageStore.DEFAULT_MAX_IMAGE_BYTES, s.imageSizeLimit());
    assertEquals(0, s.streamAddress().getPort());
    assertTrue(s.streamAddress().getAddress().isLoopbackAddress());
    assertEquals(256L << 20, s.defaultMemoryLimit());
    assertTrue(s.memoryBudget().bytes() > 0, s.memoryBudget().how());
    assertEquals(Set.of(), s.plainHttp());
    assertEquals("wasmtime", s.engine());
  }

  @Test
  void settings_engineFromTheFile() {
    assertEquals(
        "chicory",
        parse(DaemonConfigFile.parse(Path.of("config.toml"), List.of("engine = \"chicory\"")))
            .engine());
  }

  @Test
  void settings_fileUsedWhereNoFlag_flagsWin() {
    CriMain.Settings s =
        parse(
            FILE,
            "--image-size-limit",
            "32M",
            "--plain-http-registry",
            "a:1",
            "--plain-http-registry=b:2");
    assertEquals(Path.of("/file-root"), s.root());
    assertEquals(32L << 20, s.imageSizeLimit());
    assertEquals(Set.of("a:1", "b:2"), s.plainHttp());
    assertEquals(new InetSocketAddress("0.0.0.0", 10010), s.streamAddress());
    assertEquals(64L << 20, s.defaultMemoryLimit());
    CriMain.Settings fileOnly = parse(FILE, "--root", "/flag-root", "--stream-address", "[::1]:0");
    assertEquals(Path.of("/flag-root"), fileOnly.root());
    assertEquals(1L << 30, fileOnly.imageSizeLimit());
    assertEquals(Set.of("file:5000"), fileOnly.plainHttp());
    assertTrue(fileOnly.streamAddress().getAddress().isLoopbackAddress());
  }

  @Test
  void sizes_bytesAndBinarySuffixes() {
    assertEquals(
        1_048_576,
        parse(DaemonConfigFile.empty(), "--image-size-limit", "1048576").imageSizeLimit());
    assertEquals(
        512L << 10, parse(DaemonConfigFile.empty(), "--image-size-limit", "512k").imageSizeLimit());
    assertEquals(
        16L << 20, parse(DaemonConfigFile.empty(), "--image-size-limit", "16Mi").imageSizeLimit());
    assertEquals(
        4L << 30, parse(DaemonConfigFile.empty(), "--image-size-limit", "4GiB").imageSizeLimit());
  }

  @Test
  void badSize_exit2SayingWhatIsAccepted() {
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new CriMain())
            .setErr(new PrintWriter(err))
            .execute("--image-size-limit", "lots");
    assertEquals(2, code);
    assertTrue(
        err.toString().contains("--image-size-limit") && err.toString().contains("512Mi or 4G"),
        err.toString());
    assertEquals(
        2,
        new CommandLine(new CriMain())
            .setErr(new PrintWriter(new StringWriter()))
            .execute("--image-size-limit", "0"));
  }

  @Test
  void badStreamAddress_exit2() {
    StringWriter err = new StringWriter();
    assertEquals(
        2,
        new CommandLine(new CriMain())
            .setErr(new PrintWriter(err))
            .execute("--stream-address", "nohost"));
    assertTrue(err.toString().contains("HOST:PORT"), err.toString());
  }

  @Test
  void help_listsEveryOption() {
    StringWriter out = new StringWriter();
    assertEquals(
        0,
        new CommandLine(new CriMain())
            .setCommandName("krill cri")
            .setOut(new PrintWriter(out))
            .execute("--help"));
    for (String o :
        List.of(
            "Usage: krill cri",
            "--socket",
            "--root",
            "--cni-conf-dir",
            "--cni-bin-dir",
            "--plain-http-registry",
            "--stream-address",
            "--image-size-limit",
            "[cri]")) {
      assertTrue(out.toString().contains(o), o + " in " + out);
    }
  }

  @Test
  void badConfigValue_namesTheKey() {
    DaemonConfigFile file =
        DaemonConfigFile.parse(Path.of("c.toml"), List.of("[cri]", "image_size_limit = \"big\""));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(file));
    assertTrue(e.getMessage().contains("image_size_limit"), e.getMessage());
  }
}
