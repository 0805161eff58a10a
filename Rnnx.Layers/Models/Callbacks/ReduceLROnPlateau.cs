using Rnnx.Optimization;

namespace Rnnx.Models;

/// <summary>
/// Multiplies the learning rate by <see cref="Factor"/> when a monitored value has not improved for
/// <see cref="Patience"/> epochs (Keras's <c>ReduceLROnPlateau</c>, same rules: improvement means beating the best by
/// more than <see cref="MinDelta"/>; after a reduction, <see cref="Cooldown"/> epochs pass before counting again; the
/// rate never goes below <see cref="MinLearningRate"/>). It sets <see cref="Optimization.IOptimizer.LearningRate"/>.
/// </summary>
/// <remarks>
/// An optimizer whose rate comes from a learning-rate schedule cannot be driven by this callback (the schedule owns the
/// rate, as in Keras): <see cref="OnTrainBegin"/> throws <see cref="InvalidOperationException"/> before any training.
/// The schedule is detected through <see cref="ICheckpointableOptimizer.GetConfig"/>
/// (<see cref="OptimizerConfig.LearningRateSchedule"/>); for any other optimizer, a <see cref="IOptimizer.LearningRate"/>
/// setter that throws <see cref="InvalidOperationException"/> is reported (as an <see cref="InvalidOperationException"/> naming
/// this callback) when the rate is first reduced.
/// The reduced rate is part of the optimizer state, so checkpoints keep it; the callback's own counters are not saved.
/// </remarks>
public sealed class ReduceLROnPlateau : Callback, ICheckpointedCallback
{
    private (double Best, int Wait, int Cooldown)? _resumeFrom;
    private readonly List<(int Epoch, double LearningRate)> _reductions = [];
    private int _cooldownCounter;

    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">The log key to watch (default <c>val_loss</c>).</param>
    /// <param name="factor">Multiplier of the rate, in (0, 1).</param>
    /// <param name="patience">Epochs without improvement before reducing.</param>
    /// <param name="mode">Whether lower or higher is better.</param>
    /// <param name="minDelta">Threshold of a significant improvement (≥ 0).</param>
    /// <param name="cooldown">Epochs to wait after a reduction before counting again.</param>
    /// <param name="minLearningRate">Lower bound of the rate.</param>
    public ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, MonitorMode mode = MonitorMode.Auto,
        double minDelta = 1e-4, int cooldown = 0, double minLearningRate = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(monitor);
        if (!(factor > 0 && factor < 1)) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau: factor must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfNegative(patience);
        ArgumentOutOfRangeException.ThrowIfNegative(cooldown);
        if (!(minDelta >= 0) || !double.IsFinite(minDelta)) throw new ArgumentOutOfRangeException(nameof(minDelta), "minDelta must be finite and ≥ 0.");
        if (!(minLearningRate >= 0) || !double.IsFinite(minLearningRate)) throw new ArgumentOutOfRangeException(nameof(minLearningRate), "minLearningRate must be finite and ≥ 0.");
        Monitor = monitor;
        Factor = factor;
        Patience = patience;
        Mode = mode;
        MinDelta = minDelta;
        Cooldown = cooldown;
        MinLearningRate = minLearningRate;
    }

    /// <summary>The monitored log key.</summary>
    public string Monitor { get; }

    /// <summary>Multiplier of the rate.</summary>
    public double Factor { get; }

    /// <summary>Epochs without improvement before reducing.</summary>
    public int Patience { get; }

    /// <summary>Whether lower or higher is better.</summary>
    public MonitorMode Mode { get; }

    /// <summary>Threshold of a significant improvement.</summary>
    public double MinDelta { get; }

    /// <summary>Epochs to wait after a reduction.</summary>
    public int Cooldown { get; }

    /// <summary>Lower bound of the rate.</summary>
    public double MinLearningRate { get; }

    /// <summary>The best value seen.</summary>
    public double Best { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>Each reduction: the 0-based epoch at whose end it happened and the new rate.</summary>
    public IReadOnlyList<(int Epoch, double LearningRate)> Reductions => _reductions;

    private bool IsMax => Monitoring.IsMax(Monitor, Mode);

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The model has no optimizer, or its rate comes from a schedule.</exception>
    public override void OnTrainBegin(TrainingInfo info)
    {
        var opt = Model?.Optimizer ?? throw new InvalidOperationException("ReduceLROnPlateau: the model has no optimizer.");
        if (opt is ICheckpointableOptimizer c && c.GetConfig().LearningRateSchedule is { } s)
            throw new InvalidOperationException(
                $"ReduceLROnPlateau: the optimizer's learning rate comes from a {s.ClassName} schedule and cannot be set; " +
                "use a fixed learning rate (LearningRateSchedule = null) with this callback, or drop the callback.");
        (Best, Wait, _cooldownCounter) = _resumeFrom ?? (IsMax ? double.NegativeInfinity : double.PositiveInfinity, 0, 0);
        _resumeFrom = null;
    }

    /// <inheritdoc />
    public string StateKey => "reduce_lr_on_plateau";

    /// <inheritdoc />
    public string SaveState() => new System.Text.Json.Nodes.JsonObject
    {
        ["monitor"] = Monitor,
        ["best"] = CheckpointedCallbacks.RealText(Best),
        ["wait"] = Wait,
        ["cooldown_counter"] = _cooldownCounter,
    }.ToJsonString();

    /// <inheritdoc />
    /// <remarks>The learning rate itself is part of the optimizer's state, which the checkpoint restores.</remarks>
    public void RestoreState(string state, Model model)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(model);
        var o = CheckpointedCallbacks.Parse(state);
        string monitor = o["monitor"] is System.Text.Json.Nodes.JsonValue mv && mv.TryGetValue(out string? m) ? m : "";
        if (monitor != Monitor) throw new FormatException($"the saved state watched '{monitor}', this ReduceLROnPlateau watches '{Monitor}'");
        _resumeFrom = (CheckpointedCallbacks.Real(o, "best"), CheckpointedCallbacks.Int(o, "wait"), CheckpointedCallbacks.Int(o, "cooldown_counter"));
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs, double seconds)
    {
        double current = Monitoring.Get(nameof(ReduceLROnPlateau), Monitor, logs);
        var opt = Model!.Optimizer!;
        bool inCooldown = _cooldownCounter > 0;
        if (inCooldown)
        {
            _cooldownCounter--;
            Wait = 0;
        }
        bool improved = IsMax ? current > Best + MinDelta : current < Best - MinDelta;
        if (improved)
        {
            Best = current;
            Wait = 0;
        }
        else if (!inCooldown)
        {
            Wait++;
            if (Wait >= Patience)
            {
                double old = opt.LearningRate;
                if (old > MinLearningRate)
                {
                    double lr = Math.Max(old * Factor, MinLearningRate);
                    try
                    {
                        opt.LearningRate = lr;
                    }
                    catch (InvalidOperationException e)
                    {
                        throw new InvalidOperationException(
                            $"ReduceLROnPlateau: the optimizer's learning rate cannot be set (does it come from a learning-rate schedule?): {e.Message}", e);
                    }
                    _reductions.Add((epoch, lr));
                    _cooldownCounter = Cooldown;
                    Wait = 0;
                }
            }
        }
    }
}
