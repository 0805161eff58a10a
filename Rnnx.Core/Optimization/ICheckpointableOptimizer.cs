namespace Rnnx.Optimization;

/// <summary>
/// An optimizer whose configuration and state can be saved and restored: what model files and checkpoints need. The
/// built-in optimizers (<c>Rnnx.Optimizers.Optimizer</c> and its subclasses) implement it; the saving code in
/// <c>Rnnx.Layers</c> depends only on this interface, not on the optimizer types.
/// </summary>
/// <remarks>
/// Saving writes <see cref="GetConfig"/> and <see cref="GetState"/>; loading re-creates the optimizer from the config
/// through <see cref="OptimizerRegistry"/>, then calls <see cref="SetState"/>. <see cref="GetState"/>'s
/// <see cref="OptimizerState.Optimizer"/> and <see cref="OptimizerConfig.ClassName"/> must be the same name.
/// </remarks>
public interface ICheckpointableOptimizer : IOptimizer
{
    /// <summary>Names of the per-parameter state arrays, in the order of <see cref="ParameterState.Slots"/>.</summary>
    IReadOnlyList<string> SlotNames { get; }

    /// <summary>
    /// Describes the optimizer's configuration (class name, hyperparameters, fixed learning rate, learning-rate
    /// schedule), enough for the factory registered with <see cref="OptimizerRegistry.Register"/> to re-create an
    /// equivalent optimizer. The state (step counter, moments) is not part of it.
    /// </summary>
    /// <returns>A new config object, owned by the caller.</returns>
    OptimizerConfig GetConfig();

    /// <summary>
    /// Copies the state for a checkpoint: step counter, fixed learning rate, shared scalars, and each parameter's slot
    /// arrays in the order of <paramref name="parameters"/>.
    /// </summary>
    /// <param name="parameters">The parameters, in the order used for <see cref="SetState"/>.</param>
    /// <returns>A deep copy of the state.</returns>
    OptimizerState GetState(IReadOnlyList<Parameter> parameters);

    /// <summary>
    /// Restores a state saved by <see cref="GetState"/> for the same parameters in the same order. Implementations
    /// validate everything before changing anything.
    /// </summary>
    /// <param name="parameters">The parameters, in the order used for <see cref="GetState"/>.</param>
    /// <param name="state">The saved state.</param>
    /// <exception cref="ArgumentException">The state does not fit this optimizer or these parameters.</exception>
    void SetState(IReadOnlyList<Parameter> parameters, OptimizerState state);

    /// <summary>Forgets all state: every parameter's slots, shared scalars, and <see cref="IOptimizer.Iterations"/>.</summary>
    void ResetState();
}
