using System.Text.Json.Nodes;

namespace Rnnx.Models;

/// <summary>
/// Stops training when a monitored value has stopped improving (Keras 3's <c>EarlyStopping</c>, same rules): an epoch
/// improves when its value beats the best by more than <see cref="MinDelta"/>; after <see cref="Patience"/> epochs
/// without improvement, <see cref="Model.StopTraining"/> is set. With <see cref="RestoreBestWeights"/> the best
/// epoch's weights are put back when training is stopped early (as in Keras, not when all epochs ran). Its state
/// (wait, best value and epoch, best weights) goes into checkpoints (<see cref="ICheckpointedCallback"/>), so a resumed
/// run stops where an uninterrupted one would.
/// </summary>
public sealed class EarlyStopping : Callback, ICheckpointedCallback
{
    private Tensor[]? _bestWeights;
    private (int Wait, double Best, int BestEpoch, Tensor[]? BestWeights)? _resumeFrom;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The log key to watch (default <c>val_loss</c>).</param>
    /// <param name="minDelta">The smallest change that counts as an improvement (≥ 0).</param>
    /// <param name="patience">Epochs without improvement before stopping.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="baseline">Training stops unless the value beats this within <paramref name="patience"/> epochs.</param>
    /// <param name="restoreBestWeights">Restore the best epoch's weights when stopping.</param>
    /// <param name="startFromEpoch">Epochs to wait before monitoring (warm-up).</param>
    public EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto,
        double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (!double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), "minDelta must be finite.");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(startFromEpoch);
        Monitor = monitor;
        MinDelta = Math.Abs(minDelta);
        Patience = patience;
        Mode = mode;
        Baseline = baseline;
        RestoreBestWeights = restoreBestWeights;
        StartFromEpoch = startFromEpoch;
    }

    /// <summary>The monitored log key.</summary>
    public string Monitor { get; }

    /// <summary>The smallest improvement that counts.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs without improvement before stopping.</summary>
    public int Patience { get; }

    /// <summary>Whether lower or higher is better.</summary>
    public MonitorMode Mode { get; }

    /// <summary>The value to beat, if any.</summary>
    public double? Baseline { get; }

    /// <summary>Whether the best weights are restored when stopping.</summary>
    public bool RestoreBestWeights { get; }

    /// <summary>Epochs ignored at the start.</summary>
    public int StartFromEpoch { get; }

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The 0-based epoch at which training was stopped, or 0 if it was not.</summary>
    public int StoppedEpoch { get; private set; }

    /// <summary>The 0-based epoch of the best value.</summary>
    public int BestEpoch { get; private set; }

    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>Whether the best weights were put back when training stopped.</summary>
    public bool RestoredBestWeights { get; private set; }

    private bool IsMax => Monitoring.IsMax(Monitor, Mode);

    /// <inheritdoc />
    public override void OnTrainBegin(TrainingInfo info)
    {
        StoppedEpoch = 0;
        RestoredBestWeights = false;
        (Wait, Best, BestEpoch, _bestWeights) = _resumeFrom ?? (0, IsMax ? double.NegativeInfinity : double.PositiveInfinity, 0, null);
        _resumeFrom = null;
    }

    /// <inheritdoc />
    public string StateKey => "early_stopping";

    /// <inheritdoc />
    public string SaveState() => new JsonObject
    {
        ["monitor"] = Monitor,
        ["wait"] = Wait,
        ["best"] = CheckpointedCallbacks.RealText(Best),
        ["best_epoch"] = BestEpoch,
        ["best_weights"] = _bestWeights is null ? null : CheckpointedCallbacks.WeightsJson(_bestWeights),
    }.ToJsonString();

    /// <inheritdoc />
    public void RestoreState(string state, Model model)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(model);
        var o = CheckpointedCallbacks.Parse(state);
        string monitor = o["monitor"] is JsonValue mv && mv.TryGetValue(out string? m) ? m : "";
        if (monitor != Monitor) throw new FormatException($"the saved state watched '{monitor}', this EarlyStopping watches '{Monitor}'");
        int wait = CheckpointedCallbacks.Int(o, "wait"), bestEpoch = CheckpointedCallbacks.Int(o, "best_epoch");
        double best = CheckpointedCallbacks.Real(o, "best");
        var weights = o["best_weights"] is null ? null : CheckpointedCallbacks.ReadWeights(o["best_weights"], model);
        _resumeFrom = (wait, best, bestEpoch, weights);
    }

    private bool IsImprovement(double value, double reference) =>
        IsMax ? value - MinDelta > reference : value + MinDelta < reference;

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        if (epoch < StartFromEpoch) return;
        double current = Monitoring.Get(nameof(EarlyStopping), Monitor, logs);
        var model = Model ?? throw new InvalidOperationException("EarlyStopping: no model (the callback is used outside Fit).");
        if (RestoreBestWeights && _bestWeights is null)
        {
            _bestWeights = model.GetWeights();
            BestEpoch = epoch;
        }
        Wait++;
        if (IsImprovement(current, Best))
        {
            Best = current;
            BestEpoch = epoch;
            if (RestoreBestWeights) _bestWeights = model.GetWeights();
            if (Baseline is not double b || IsImprovement(current, b)) Wait = 0;
            return;
        }
        if (Wait >= Patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            model.StopTraining = true;
            if (RestoreBestWeights && _bestWeights is not null)
            {
                model.SetWeights(_bestWeights);
                RestoredBestWeights = true;
            }
        }
    }
}
