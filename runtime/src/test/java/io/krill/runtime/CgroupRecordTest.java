package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The record of the cgroup directories a daemon made, and what the next daemon removes of it. Temp
 * directories stand in for the hierarchies: a directory with a file in it stands for a cgroup in
 * use, which the kernel refuses to remove as a file system refuses a non-empty directory.
 */
class CgroupRecordTest {
  @TempDir Path tmp;
  Path cpu;
  Path cpuacct;
  Path file;

  @BeforeEach
  void setUp() throws IOException {
    cpu = Files.createDirectories(tmp.resolve("cpu"));
    cpuacct = Files.createDirectories(tmp.resolve("cpuacct"));
    file = Files.createDirectories(tmp.resolve("run")).resolve("cgroups");
  }

  private CgroupRecord takeOver() {
    return CgroupRecord.takeOver(file, List.of(cpu, cpuacct));
  }

  @Test
  void theNextDaemonRemovesWhatAKilledOneMadeDeepestFirst() throws IOException {
    CgroupRecord first = takeOver();
    Path ns = Files.createDirectories(cpu.resolve("ns"));
    Path a = Files.createDirectories(ns.resolve("a"));
    Path b = Files.createDirectories(cpuacct.resolve("ns/b"));
    first.add(List.of(ns, a));
    first.add(List.of(cpuacct.resolve("ns"), b));
    assertEquals(
        List.of(ns.toString(), a.toString(), cpuacct.resolve("ns").toString(), b.toString()),
        Files.readAllLines(file));

    // The daemon is killed: nothing more happens to the record until the next one takes over.
    CgroupRecord next = takeOver();

    assertFalse(Files.exists(ns));
    assertFalse(Files.exists(cpuacct.resolve("ns")));
    assertTrue(Files.isDirectory(cpu));
    assertFalse(Files.exists(file), "nothing left to record");
    assertEquals(List.of(), next.removeEmpty());
  }

  @Test
  void aCgroupInUseStaysRecordedForTheDaemonAfter() throws IOException {
    CgroupRecord first = takeOver();
    Path ns = Files.createDirectories(cpu.resolve("ns"));
    Path busy = Files.createDirectories(ns.resolve("busy"));
    Path idle = Files.createDirectories(ns.resolve("idle"));
    first.add(List.of(ns, busy, idle));
    Files.writeString(busy.resolve("tasks"), "42\n");

    takeOver();

    assertFalse(Files.exists(idle));
    assertTrue(Files.isDirectory(busy));
    assertEquals(List.of(ns.toString(), busy.toString()), Files.readAllLines(file));

    Files.delete(busy.resolve("tasks"));
    assertEquals(List.of(), takeOver().removeEmpty());
    assertFalse(Files.exists(ns));
  }

  @Test
  void onlyDirectoriesBelowAHierarchysRootAreTouched() throws IOException {
    Path outside = Files.createDirectories(tmp.resolve("elsewhere/x"));
    Path sneaky = Files.createDirectories(cpu.resolve("ns"));
    Files.write(
        file,
        List.of(
            outside.toString(),
            cpu.toString(),
            cpu.resolve("ns/../ns").toString(),
            "relative/path"));

    CgroupRecord record = takeOver();

    assertTrue(Files.isDirectory(outside));
    assertTrue(Files.isDirectory(cpu));
    assertTrue(Files.isDirectory(sneaky));
    assertFalse(Files.exists(file));
    record.add(List.of(outside));
    assertFalse(Files.exists(file), "a directory outside the hierarchies is not recorded");
  }

  @Test
  void removedCgroupsLeaveTheRecordAndAGoneRunDirectoryIsNotMadeAgain() throws IOException {
    CgroupRecord record = takeOver();
    Path ns = Files.createDirectories(cpu.resolve("ns"));
    Path a = Files.createDirectories(ns.resolve("a"));
    record.add(List.of(ns, a));
    Files.delete(a);
    record.forgetRemoved();
    assertEquals(List.of(ns.toString()), Files.readAllLines(file));

    Files.delete(file);
    Files.delete(file.getParent());
    assertEquals(List.of(), record.removeEmpty());
    assertFalse(Files.exists(ns));
    assertFalse(Files.exists(file.getParent()));
  }

  @Test
  void createsAndDeletesAppend_theFileIsWrittenAnewOnceRemovalsOutnumberTheLive()
      throws IOException {
    CgroupRecord record = takeOver();
    Path ns = Files.createDirectories(cpu.resolve("ns"));
    record.add(List.of(ns));
    Path kept = Files.createDirectories(ns.resolve("kept"));
    record.add(List.of(kept));
    int most = 0;
    for (int i = 0; i < 500; i++) {
      Path c = Files.createDirectories(ns.resolve("c" + i));
      record.add(List.of(c));
      Files.delete(c);
      record.forgetRemoved(List.of(c, ns));
      most = Math.max(most, record.fileLines());
      assertEquals(record.fileLines(), Files.readAllLines(file).size());
    }
    assertTrue(most <= 2 * 2 + CgroupRecord.SLACK + 2, "at most " + most + " lines");

    // What the next daemon reads is what this one has: ns and kept, which it removes.
    Files.writeString(kept.resolve("tasks"), "42\n");
    takeOver();
    assertEquals(List.of(ns.toString(), kept.toString()), Files.readAllLines(file));
  }

  @Test
  void aLastLineCutShort_isIgnored() throws IOException {
    Path whole = Files.createDirectories(cpu.resolve("ns/abc"));
    Path prefix = Files.createDirectories(cpu.resolve("ns/ab"));
    Files.writeString(file, whole + "\n" + prefix);

    takeOver();

    assertFalse(Files.exists(whole));
    assertTrue(Files.isDirectory(prefix), "a path cut short may name another cgroup");
  }
}
