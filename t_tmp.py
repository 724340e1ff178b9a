import os, sys, time
import numpy as np, keras
from keras_vae import VAE, build_encoder, build_decoder, load_mnist
(x,y),(xt,yt)=load_mnist("../shared/data/mnist.npz") if os.path.exists("../shared") else load_mnist("/work/shared/data/mnist.npz")
x=x[:4096]
vae=VAE(build_encoder(2,"conv",seed=0),build_decoder(2,"conv"))
vae.compile(keras.optimizers.Adam())
t=time.time(); h=vae.fit(x,epochs=2,batch_size=128,verbose=0).history; print(keras.backend.backend(), h["loss"], time.time()-t)
print(vae.evaluate(xt[:512],verbose=0,return_dict=True))
print(vae.predict(xt[:4],verbose=0).shape)
vae.save("/tmp/vae_%s.keras" % keras.backend.backend())
c=VAE(build_encoder(2,"mlp",hidden_dim=32,seed=0,num_classes=10),build_decoder(2,"mlp",hidden_dim=32,num_classes=10))
c.compile(keras.optimizers.Adam()); print(c.fit({"x":x,"y":y[:4096]},epochs=1,verbose=0).history)
