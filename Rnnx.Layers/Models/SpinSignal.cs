using System.Diagnostics;

namespace Rnnx.Models;

/// <summary>
/// A signal that one thread sets and one thread waits for, reused round after round. The waiter first spins (yielding
/// the core to other runnable threads) for a bounded time, so a hand-off between the steps of a training loop costs a
/// cache-line transfer instead of a sleep and a wake-up through the kernel; after that it sleeps on a semaphore, so an
/// idle model costs no CPU.
/// </summary>
internal sealed class SpinSignal
{
    private readonly SemaphoreSlim _wake = new(0);
    private int _set, _sleeping;

    /// <summary>Sets the signal and wakes the waiter if it sleeps.</summary>
    public void Set()
    {
        Interlocked.Exchange(ref _set, 1);
        if (Interlocked.Exchange(ref _sleeping, 0) == 1) _wake.Release();
    }

    /// <summary>Waits until the signal is set (spinning for up to <paramref name="spinTicks"/> Stopwatch ticks, then sleeping) and resets it.</summary>
    public void Wait(long spinTicks)
    {
        if (Volatile.Read(ref _set) == 0)
        {
            long start = Stopwatch.GetTimestamp();
            var spin = new SpinWait();
            while (Volatile.Read(ref _set) == 0)
            {
                if (Stopwatch.GetTimestamp() - start > spinTicks)
                {
                    Sleep();
                    break;
                }
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
        // A full fence: whatever the waiter reads next (the work posted with the signal) is read after the reset, so a
        // signal set after this reset is seen by the next Wait.
        Interlocked.Exchange(ref _set, 0);
    }

    private void Sleep()
    {
        // Announce the sleep, then look again: either this thread sees the signal or the setter sees the announcement
        // (both sides exchange, a full fence, before they read), so a wake-up is never lost.
        Interlocked.Exchange(ref _sleeping, 1);
        if (Volatile.Read(ref _set) == 1 && Interlocked.Exchange(ref _sleeping, 0) == 1) return;   // set meanwhile, no release coming
        _wake.Wait();   // the setter saw the announcement: its release has come or is coming
    }
}
