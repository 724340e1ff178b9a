"""Adam applied by TensorFlow's fused kernel: the same update, one op per variable instead of about ten."""
import keras
import tensorflow as tf
from keras import ops

from .distribute import require_tensorflow


@keras.saving.register_keras_serializable(package="keras_vae")
class FusedAdam(keras.optimizers.Adam):
    """keras.optimizers.Adam whose per-variable update is `ResourceApplyAdam`.

    m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2); w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + eps),
    as Adam computes it. Fewer ops per step pay for small models on a CPU (benchmarks/README.md).
    The kernel has no amsgrad: use keras.optimizers.Adam(amsgrad=True) for it.
    """

    def __init__(self, *args, amsgrad=False, **kwargs):
        require_tensorflow("FusedAdam (a TensorFlow kernel)", "or use keras.optimizers.Adam, the same update")
        if amsgrad:
            raise ValueError("amsgrad=True: FusedAdam's kernel has no amsgrad; use keras.optimizers.Adam(amsgrad=True).")
        super().__init__(*args, **kwargs)

    def build(self, var_list):
        """Adam's momentums and velocities, made as Adam makes them (so that saved optimizer states load), and where
        each variable's are: update_step gets the TensorFlow variable, or under tf.distribute one replica's copy."""
        if self.built:
            return
        super(keras.optimizers.Adam, self).build(var_list)  # the base optimizer's: iterations, learning rate
        self.momentums, self.velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        local_results = tf.distribute.get_strategy().experimental_local_results
        self.slot_index = {id(copy): index for index, variable in enumerate(var_list)
                           for copy in (variable, variable.value, *local_results(variable.value))}

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        index = self.slot_index[id(variable)]
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self.momentums[index].handle, v=self.velocities[index].handle,
            beta1_power=ops.power(beta_1, step), beta2_power=ops.power(beta_2, step),
            lr=ops.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=ops.cast(self.epsilon, dtype), grad=ops.cast(gradient, dtype),
        )
