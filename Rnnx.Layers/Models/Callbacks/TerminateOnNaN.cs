namespace Rnnx.Models;

/// <summary>
/// Ends training cleanly when the loss becomes NaN or infinite, instead of letting <see cref="O:Rnnx.Models.Model.Fit"/> throw.
/// </summary>
/// <remarks>
/// <para>Without this callback, <see cref="O:Rnnx.Models.Model.Fit"/> throws <see cref="TrainingDivergedException"/> at the first
/// step whose loss or gradient norm is not finite, before applying that step. With it, the same detection ends training
/// normally instead: Fit sets <see cref="Model.StopTraining"/>, skips the rest of the epoch (no epoch-end
/// callbacks for the partial epoch), calls <see cref="Callback.OnTrainEnd"/> and returns the <see cref="History"/> of the
/// completed epochs, whose <see cref="History.StopReason"/> says where it happened. The weights are those from before the
/// bad step, so (unlike Keras, which applies the NaN update before stopping) the model stays usable.</para>
/// <para>The callback also checks the running loss at each batch end and sets <see cref="Model.StopTraining"/> if it
/// is not finite (Keras's rule), which matters only for losses that Fit itself does not reject.</para>
/// </remarks>
public sealed class TerminateOnNaN(TextWriter? log = null) : Callback
{
    /// <summary>Whether training was terminated by this callback.</summary>
    public bool Terminated { get; private set; }

    /// <summary>The 1-based epoch of the bad step, when <see cref="Terminated"/>.</summary>
    public int? Epoch { get; private set; }

    /// <summary>The 1-based batch of the bad step, when <see cref="Terminated"/>.</summary>
    public int? Batch { get; private set; }

    /// <summary>What was not finite, when <see cref="Terminated"/>.</summary>
    public string? Reason { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin(TrainingInfo info)
    {
        Terminated = false;
        Epoch = Batch = null;
        Reason = null;
    }

    /// <inheritdoc />
    public override void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out double loss) && !double.IsFinite(loss))
        {
            Record(epoch + 1, batch + 1, $"the running loss is {loss}");
            if (Model is not null) Model.StopTraining = true;
        }
    }

    private void Record(int epoch, int batch, string reason)
    {
        if (Terminated) return;
        Terminated = true;
        Epoch = epoch;
        Batch = batch;
        Reason = reason;
        log?.WriteLine($"Epoch {epoch}, batch {batch}: invalid loss, terminating training ({reason}).");
    }

    /// <summary>Called by Fit on a divergence: true (training ends normally) when a TerminateOnNaN is among the callbacks.</summary>
    internal static bool Handles(List<Callback> callbacks, TrainingDivergedException e)
    {
        bool any = false;
        foreach (var c in callbacks)
            if (c is TerminateOnNaN t)
            {
                t.Record(e.Epoch, e.Batch, e.Message);
                any = true;
            }
        return any;
    }
}
