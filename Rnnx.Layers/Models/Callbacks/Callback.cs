using System.Globalization;
using System.Text;

namespace Rnnx.Models;

/// <summary>
/// Receives training events. Values are passed as logs keyed like Keras (<c>loss</c>, metric names, <c>val_loss</c>, ...).
/// Set <see cref="Model.StopTraining"/> to end training after the current epoch.
/// </summary>
public abstract class Callback
{
    /// <summary>The model being trained (set by <see cref="O:Rnnx.Models.Model.Fit"/>).</summary>
    public Model? Model { get; internal set; }

    /// <summary>Before the first epoch.</summary>
    public virtual void OnTrainBegin(TrainingInfo info) { }

    /// <summary>At the start of an epoch (0-based).</summary>
    public virtual void OnEpochBegin(int epoch) { }

    /// <summary>After each batch's update, with the running epoch means so far (loss, metrics).</summary>
    public virtual void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs) { }

    /// <summary>After validation at the end of an epoch, with the epoch's values and its duration.</summary>
    public virtual void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds) { }

    /// <summary>After the last epoch (also after an early stop).</summary>
    public virtual void OnTrainEnd(History history) { }
}

/// <summary>What a training run will do, given to <see cref="Callback.OnTrainBegin"/>.</summary>
/// <param name="Epochs">Number of epochs requested.</param>
/// <param name="StepsPerEpoch">Batches per epoch (the last one may be partial).</param>
/// <param name="Samples">Training samples.</param>
/// <param name="HasValidation">Whether validation runs at each epoch end.</param>
public sealed record TrainingInfo(int Epochs, int StepsPerEpoch, int Samples, bool HasValidation);

/// <summary>Prints one Keras-style line per epoch: <c>Epoch 3/10 - 0.41s - loss: 0.0123 - val_loss: 0.0101</c>.</summary>
public sealed class EpochLogger(TextWriter? writer = null) : Callback
{
    private readonly TextWriter _w = writer ?? Console.Out;
    private int _epochs;

    /// <inheritdoc />
    public override void OnTrainBegin(TrainingInfo info) => _epochs = info.Epochs;

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}/{_epochs} - {seconds:F2}s");
        foreach (var (k, v) in logs) sb.Append(CultureInfo.InvariantCulture, $" - {k}: {v:G5}");
        _w.WriteLine(sb.ToString());
    }
}

/// <summary>Calls delegates on events: a lightweight way to hook progress into a UI.</summary>
public sealed class LambdaCallback : Callback
{
    /// <summary>On each epoch end.</summary>
    public Action<int, IReadOnlyDictionary<string, double>, double>? EpochEnd { get; init; }

    /// <summary>On each batch end.</summary>
    public Action<int, int, IReadOnlyDictionary<string, double>>? BatchEnd { get; init; }

    /// <summary>On each epoch start.</summary>
    public Action<int>? EpochBegin { get; init; }

    /// <summary>On train begin.</summary>
    public Action<TrainingInfo>? TrainBegin { get; init; }

    /// <inheritdoc />
    public override void OnTrainBegin(TrainingInfo info) => TrainBegin?.Invoke(info);

    /// <inheritdoc />
    public override void OnEpochBegin(int epoch) => EpochBegin?.Invoke(epoch);

    /// <inheritdoc />
    public override void OnBatchEnd(int epoch, int batch, IReadOnlyDictionary<string, double> logs) => BatchEnd?.Invoke(epoch, batch, logs);

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds) => EpochEnd?.Invoke(epoch, logs, seconds);
}

/// <summary>Thrown when training cannot continue (a non-finite loss or gradient). Weights are those from before the failing step.</summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, int epoch, int batch, History history) : base(message)
    {
        Epoch = epoch;
        Batch = batch;
        History = history;
    }

    /// <summary>The 1-based epoch of the failing step.</summary>
    public int Epoch { get; }

    /// <summary>The 1-based batch of the failing step.</summary>
    public int Batch { get; }

    /// <summary>The epochs completed before the failure.</summary>
    public History History { get; }
}
