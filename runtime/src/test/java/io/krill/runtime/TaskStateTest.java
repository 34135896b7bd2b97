package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TaskStateTest {

  @ParameterizedTest
  @CsvSource({
    "CREATED, RUNNING",
    "CREATED, STOPPED",
    "CREATED, DELETED",
    "RUNNING, STOPPED",
    "STOPPED, DELETED"
  })
  void moveTo_allowedStep_returnsTarget(TaskState from, TaskState to) {
    assertTrue(from.canMoveTo(to));
    assertEquals(to, from.moveTo(to, "c1"));
  }

  @ParameterizedTest
  @CsvSource({
    "CREATED, CREATED",
    "RUNNING, CREATED",
    "RUNNING, RUNNING",
    "RUNNING, DELETED",
    "STOPPED, CREATED",
    "STOPPED, RUNNING",
    "STOPPED, STOPPED",
    "DELETED, CREATED",
    "DELETED, RUNNING",
    "DELETED, STOPPED",
    "DELETED, DELETED"
  })
  void moveTo_invalidStep_throwsFailedPrecondition(TaskState from, TaskState to) {
    assertFalse(from.canMoveTo(to));
    KrillException e = assertThrows(KrillException.class, () -> from.moveTo(to, "c1"));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
  }

  @Test
  void moveTo_invalidStep_messageNamesContainerAndBothStates() {
    KrillException e =
        assertThrows(
            KrillException.class, () -> TaskState.RUNNING.moveTo(TaskState.DELETED, "web-1"));
    assertEquals("container web-1 is running, cannot become deleted", e.getMessage());
  }

  @Test
  void canMoveTo_deleted_isTerminal() {
    Set<TaskState> reachable = EnumSet.noneOf(TaskState.class);
    for (TaskState t : TaskState.values()) {
      if (TaskState.DELETED.canMoveTo(t)) {
        reachable.add(t);
      }
    }
    assertEquals(Set.of(), reachable);
  }
}
