/**
 * Stand-ins for the three Expo modules the push wiring takes (expo-task-manager,
 * expo-notifications, expo-background-task, SDK 57), whose work is native: the OS runs
 * the tasks. Each does what the installed module's JavaScript and documentation say, and
 * nothing more:
 *
 * - `TaskManager.defineTask(name, executor)` keeps the executor; the native side later
 *   calls it with `{ data, error, executionInfo: { eventId, taskName } }` and passes its
 *   resolved value back to the OS (expo-task-manager build/TaskManager.js, `executeTask`
 *   listener). {@link ExpoFakes.runTask} is that call.
 * - `Notifications.registerTaskAsync(name)` needs the task defined first ("You **must**
 *   define the task first", build/registerTaskAsync.d.ts); the task's result is a
 *   `BackgroundNotificationTaskResult`: NewData 0, NoData 1, Failed 2 (same file).
 * - `BackgroundTask.registerTaskAsync(name, { minimumInterval })` throws "Task '…' is not
 *   defined…" for an undefined task, and does nothing for one already registered
 *   (build/BackgroundTask.js); `minimumInterval` is in minutes, at least 15
 *   (BackgroundTask.types.d.ts). `unregisterTaskAsync` removes it. Results:
 *   `BackgroundTaskResult` Success 1, Failed 2. `addExpirationListener` is iOS's; it is
 *   present here so the tests can expire a run.
 */
import type {
  BackgroundTaskModule,
  NotificationsModule,
  TaskManagerModule,
} from '@noah-backup/react-native/push';

type Executor = Parameters<TaskManagerModule['defineTask']>[1];

export interface ExpoFakes {
  TaskManager: TaskManagerModule;
  Notifications: NotificationsModule;
  BackgroundTask: BackgroundTaskModule;
  /** Tasks registered with expo-notifications. */
  notificationTasks: Set<string>;
  /** Background tasks registered, with their options. */
  backgroundTasks: Map<string, { minimumInterval?: number }>;
  /** Runs a defined task as the OS would; resolves to what it hands back. */
  runTask(name: string, data: unknown): Promise<unknown>;
  /** Calls the expiration listeners (iOS ends the background time). */
  expire(): void;
}

export function expoFakes(): ExpoFakes {
  const tasks = new Map<string, Executor>();
  const notificationTasks = new Set<string>();
  const backgroundTasks = new Map<string, { minimumInterval?: number }>();
  const expirations = new Set<() => void>();
  let eventId = 0;
  const notDefined = (name: string) =>
    new Error(
      `Task '${name}' is not defined. You must define a task using TaskManager.defineTask before registering.`,
    );
  return {
    notificationTasks,
    backgroundTasks,
    TaskManager: {
      defineTask(name, executor) {
        tasks.set(name, executor);
      },
    },
    Notifications: {
      async registerTaskAsync(name) {
        if (!tasks.has(name)) throw notDefined(name);
        notificationTasks.add(name);
        return null;
      },
      BackgroundNotificationTaskResult: { NewData: 0, NoData: 1, Failed: 2 },
    },
    BackgroundTask: {
      async registerTaskAsync(name, options = {}) {
        if (!tasks.has(name)) throw notDefined(name);
        if (options.minimumInterval !== undefined && options.minimumInterval < 15)
          throw new RangeError('minimumInterval: at least 15 minutes');
        if (!backgroundTasks.has(name)) backgroundTasks.set(name, options);
      },
      async unregisterTaskAsync(name) {
        backgroundTasks.delete(name);
      },
      addExpirationListener(listener) {
        expirations.add(listener);
        return { remove: () => void expirations.delete(listener) };
      },
      BackgroundTaskResult: { Success: 1, Failed: 2 },
    },
    async runTask(name, data) {
      const executor = tasks.get(name);
      if (!executor) throw new Error(`no task ${name}`);
      eventId++;
      return executor({
        data,
        error: null,
        executionInfo: { eventId: String(eventId), taskName: name },
      } as Parameters<Executor>[0]);
    },
    expire() {
      for (const l of [...expirations]) l();
    },
  };
}
