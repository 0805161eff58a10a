namespace Rnnx.Optimization;

/// <summary>
/// A snapshot of an optimizer's state for checkpoints: step counter, learning rate, shared scalars and every
/// parameter's slot arrays, in parameter order. Produced by <see cref="ICheckpointableOptimizer.GetState"/> and restored by
/// <see cref="ICheckpointableOptimizer.SetState"/>. Plain mutable properties, so it serializes as-is (for example with
/// System.Text.Json, whose round-trip formatting keeps every float and double bit-exact).
/// </summary>
public sealed class OptimizerState
{
    /// <summary>
    /// The optimizer class name (for example <c>Nadam</c>, as in <see cref="OptimizerConfig.ClassName"/>);
    /// <see cref="ICheckpointableOptimizer.SetState"/> checks it.
    /// </summary>
    public string Optimizer { get; set; } = "";

    /// <summary>
    /// Largest step count a state may hold: 2^53, the largest count a double still represents exactly, far beyond any
    /// training run and far from the overflow of the next step number.
    /// </summary>
    public const long MaxIterations = 1L << 53;

    /// <summary>Steps taken (<see cref="IOptimizer.Iterations"/>), between 0 and <see cref="MaxIterations"/>.</summary>
    public long Iterations { get; set; }

    /// <summary>The fixed learning rate (ignored on restore when a learning-rate schedule is set).</summary>
    public double LearningRate { get; set; }

    /// <summary>
    /// Optimizer-wide scalars by name, for example Nadam's momentum-schedule products <c>u_product_float32</c> and
    /// <c>u_product_float64</c>. Empty for optimizers without shared state.
    /// </summary>
    public Dictionary<string, double> Scalars { get; set; } = [];

    /// <summary>One entry per parameter, in the order of the list passed to <see cref="ICheckpointableOptimizer.GetState"/>.</summary>
    public List<ParameterState> Parameters { get; set; } = [];
}

/// <summary>The slot arrays of one parameter inside an <see cref="OptimizerState"/>.</summary>
public sealed class ParameterState
{
    /// <summary>The parameter's name when the state was saved (informational; restore matches by position).</summary>
    public string Name { get; set; } = "";

    /// <summary>The parameter's element type; slot arrays are in this type.</summary>
    public DType DType { get; set; }

    /// <summary>The parameter's shape when the state was saved.</summary>
    public int[] Shape { get; set; } = [];

    /// <summary>One array per slot, in the optimizer's <see cref="ICheckpointableOptimizer.SlotNames"/> order.</summary>
    public List<SlotState> Slots { get; set; } = [];
}

/// <summary>One slot array (for example Adam's <c>momentum</c>) of one parameter.</summary>
public sealed class SlotState
{
    /// <summary>The slot name, as in <see cref="ICheckpointableOptimizer.SlotNames"/>.</summary>
    public string Name { get; set; } = "";

    /// <summary>The values when the parameter is <see cref="DType.Float32"/>, otherwise null.</summary>
    public float[]? Float32 { get; set; }

    /// <summary>The values when the parameter is <see cref="DType.Float64"/>, otherwise null.</summary>
    public double[]? Float64 { get; set; }
}
