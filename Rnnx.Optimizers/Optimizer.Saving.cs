using Rnnx.Optimization;

namespace Rnnx.Optimizers;

public abstract partial class Optimizer
{
    /// <summary>The class names <see cref="FromConfig"/> creates, registered with <see cref="OptimizerRegistry"/> when this assembly loads.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = [nameof(Nadam), nameof(Adam), nameof(Sgd), nameof(RmsProp)];

    /// <summary>
    /// Describes this optimizer for model files: class name (the type name), fixed learning rate, the subclass's
    /// hyperparameters (<see cref="WriteConfig"/>), the clipping options that are set (<c>clipnorm</c>,
    /// <c>global_clipnorm</c>, <c>clipvalue</c>) and the <see cref="LearningRateSchedule"/> (built-in schedules with
    /// their settings; any other schedule by class name only, which <see cref="FromConfig"/> cannot re-create).
    /// </summary>
    /// <returns>A new config.</returns>
    public OptimizerConfig GetConfig()
    {
        var config = new OptimizerConfig(GetType().Name) { LearningRate = _learningRate };
        WriteConfig(config);
        if (_clipNorm is double cn) config.Set("clipnorm", cn);
        if (_globalClipNorm is double gn) config.Set("global_clipnorm", gn);
        if (_clipValue is double cv) config.Set("clipvalue", cv);
        if (_schedule is not null) config.LearningRateSchedule = DescribeSchedule(_schedule);
        return config;
    }

    /// <summary>Writes the subclass's hyperparameters into <paramref name="config"/> (for <see cref="GetConfig"/>). The default writes none.</summary>
    /// <param name="config">The config being built.</param>
    protected virtual void WriteConfig(OptimizerConfig config)
    {
    }

    /// <summary>
    /// Re-creates a built-in optimizer (<see cref="BuiltInNames"/>) from a config written by <see cref="GetConfig"/>:
    /// hyperparameters, fixed learning rate, clipping and learning-rate schedule. This is the factory this assembly
    /// registers with <see cref="OptimizerRegistry"/>.
    /// </summary>
    /// <param name="config">The config.</param>
    /// <returns>A new optimizer with no state.</returns>
    /// <exception cref="ArgumentException">The class, the Nadam schedule or the learning-rate schedule is unknown, or a value is out of range.</exception>
    /// <exception cref="FormatException">A setting is missing or has the wrong type.</exception>
    public static Optimizer FromConfig(OptimizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        double lr = config.LearningRate;
        Optimizer optimizer = config.ClassName switch
        {
            nameof(Nadam) => new Nadam(lr, config.GetDouble("beta1"), config.GetDouble("beta2"), config.GetDouble("epsilon"),
                config.GetString("schedule") switch
                {
                    nameof(NadamSchedule.Keras3) => NadamSchedule.Keras3,
                    nameof(NadamSchedule.Legacy) => NadamSchedule.Legacy,
                    var other => throw new ArgumentException($"unknown Nadam schedule '{other}' (Keras3 or Legacy)"),
                }),
            nameof(Adam) => new Adam(lr, config.GetDouble("beta1"), config.GetDouble("beta2"), config.GetDouble("epsilon"), config.GetBool("amsgrad")),
            nameof(Sgd) => new Sgd(lr, config.GetDouble("momentum"), config.GetBool("nesterov")),
            nameof(RmsProp) => new RmsProp(lr, config.GetDouble("rho"), config.GetDouble("momentum"), config.GetDouble("epsilon"), config.GetBool("centered")),
            var other => throw new ArgumentException(
                $"'{other}' is not a built-in optimizer ({string.Join(", ", BuiltInNames)}); register a factory for it with OptimizerRegistry.Register"),
        };
        optimizer.ApplySharedConfig(config);
        return optimizer;
    }

    /// <summary>
    /// Applies the settings that every optimizer shares — clipping (<c>clipnorm</c>, <c>global_clipnorm</c>,
    /// <c>clipvalue</c>) and the learning-rate schedule — from a config written by <see cref="GetConfig"/>. A custom
    /// subclass's registered factory calls it after constructing the optimizer:
    /// <c>c =&gt; { var o = new MyOptimizer(c.LearningRate, c.GetDouble("beta")); o.ApplySharedConfig(c); return o; }</c>.
    /// </summary>
    /// <param name="config">The config.</param>
    /// <exception cref="ArgumentException">The learning-rate schedule is not a built-in one, or a value is out of range.</exception>
    /// <exception cref="FormatException">A setting has the wrong type.</exception>
    /// <exception cref="InvalidOperationException">More than one clipping option is set.</exception>
    public void ApplySharedConfig(OptimizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.Contains("clipnorm")) ClipNorm = config.GetDouble("clipnorm");
        if (config.Contains("global_clipnorm")) GlobalClipNorm = config.GetDouble("global_clipnorm");
        if (config.Contains("clipvalue")) ClipValue = config.GetDouble("clipvalue");
        if (config.LearningRateSchedule is { } schedule) LearningRateSchedule = ScheduleFromConfig(schedule);
    }

    /// <summary>The config of a learning-rate schedule: the built-ins with their settings, any other by class name only.</summary>
    /// <param name="schedule">The schedule.</param>
    /// <returns>A new config.</returns>
    public static OptimizerConfig DescribeSchedule(ILearningRateSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        return schedule switch
        {
            ExponentialDecay e => new OptimizerConfig(nameof(ExponentialDecay))
                .Set("initial_learning_rate", e.InitialLearningRate)
                .Set("decay_steps", e.DecaySteps)
                .Set("decay_rate", e.DecayRate)
                .Set("staircase", e.Staircase),
            PiecewiseConstant p => new OptimizerConfig(nameof(PiecewiseConstant))
                .Set("boundaries", p.Boundaries)
                .Set("values", p.Values),
            _ => new OptimizerConfig(schedule.GetType().Name),
        };
    }

    /// <summary>Re-creates a built-in learning-rate schedule (<see cref="ExponentialDecay"/>, <see cref="PiecewiseConstant"/>) from its config.</summary>
    /// <param name="config">The config written by <see cref="DescribeSchedule"/>.</param>
    /// <returns>A new schedule.</returns>
    /// <exception cref="ArgumentException">The class is not a built-in schedule, or a value is out of range.</exception>
    /// <exception cref="FormatException">A setting is missing or has the wrong type.</exception>
    public static ILearningRateSchedule ScheduleFromConfig(OptimizerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.ClassName switch
        {
            nameof(ExponentialDecay) => new ExponentialDecay(config.GetDouble("initial_learning_rate"), config.GetLong("decay_steps"),
                config.GetDouble("decay_rate"), config.GetBool("staircase")),
            nameof(PiecewiseConstant) => new PiecewiseConstant(config.GetLongArray("boundaries"), config.GetDoubleArray("values")),
            var other => throw new ArgumentException(
                $"the learning-rate schedule '{other}' cannot be re-created (built-ins: ExponentialDecay, PiecewiseConstant); " +
                "load the model with compile: false and compile it yourself"),
        };
    }
}
